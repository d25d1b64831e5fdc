"""The one place reportx constructs a ``llama_cpp.Llama``: every loader (extraction, export checks, tests) goes
through :func:`load_llama`.

Why not ``Llama(...)`` directly: a llama-cpp-python compiled for a CPU with AMX (Intel Sapphire Rapids and newer;
pip builds it from source with ``-march=native``) moves quantised weights into an "extra" AMX buffer type at load
time. With llama-cpp-python 0.3.36 and the embedded Gemma 3 270M Q4_K_M, the first multi-token ``decode`` then
ends in a segmentation fault (seen on this project's 2-core build machines, with and without a LoRA adapter, and on
q8_0 files). ``Llama`` has no argument for it, so for such a build the model parameter ``use_extra_bufts`` (the
``--no-repack`` switch of llama.cpp's own tools) is cleared while the model loads. A build without AMX keeps
repacking on (llama-cpp-python built with ``CMAKE_ARGS="-DCMAKE_C_FLAGS='-mno-amx-int8 -mno-amx-tile'
-DCMAKE_CXX_FLAGS='-mno-amx-int8 -mno-amx-tile'"`` is one); measured on the default model with one thread, decoding
runs at the same speed either way (44-46 ms per token with the machine's other core busy).
``REPORTX_LLAMA_REPACK=1`` keeps repacking on whatever the build; ``REPORTX_LLAMA_REPACK=0`` turns it off.

Before llama.cpp sees them, the model file and the LoRA adapter (``lora_path``) are checked from their headers
(:func:`check_gguf_files`): llama.cpp trusts an adapter, and an empty, text or truncated file, or a model given as
adapter, ends the process with a segmentation fault instead of an error.
"""

from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

_LOCK = threading.Lock()


def build_has_amx() -> bool:
    """Whether the installed llama.cpp was compiled with its AMX kernels (``AMX_INT8 = 1`` in its system info)."""
    from llama_cpp import llama_cpp as C

    return "AMX_INT8 = 1" in C.llama_print_system_info().decode("utf-8", "replace")


def repack_enabled() -> bool:
    """Whether llama.cpp may repack weights into extra buffer types: REPORTX_LLAMA_REPACK when set (1/0), else
    only for a build without AMX (see the module doc)."""
    setting = os.environ.get("REPORTX_LLAMA_REPACK", "").strip().lower()
    if setting in {"1", "true", "yes"}:
        return True
    if setting in {"0", "false", "no"}:
        return False
    return not build_has_amx()


@contextmanager
def _no_repack() -> Iterator[None]:
    from llama_cpp import llama_cpp as C

    original = C.llama_model_default_params

    def params_without_repack():
        params = original()
        params.use_extra_bufts = False
        return params

    with _LOCK:  # the patch is process-wide while it lasts: one load at a time
        C.llama_model_default_params = params_without_repack
        try:
            yield
        finally:
            C.llama_model_default_params = original


def check_gguf_files(model_path: str | Path, lora_path: str | Path | None = None) -> None:
    """Raise ``ReportxError`` (one line) unless ``model_path`` is a readable GGUF model and ``lora_path``, when
    given, a LoRA adapter GGUF made for it (see :func:`reportx.export.gguf_io.check_lora_adapter`).

    A model path that is not a file is left to ``llama_cpp.Llama``, whose ``ValueError`` says so (and every
    caller checks the path first with its own message).
    """
    from reportx.export.gguf_io import check_lora_adapter, check_model_gguf

    if not Path(model_path).is_file():
        return
    base = check_model_gguf(model_path)
    if lora_path:
        check_lora_adapter(lora_path, base)


def load_llama(model_path: str, **kwargs: Any):
    """``llama_cpp.Llama(model_path, **kwargs)``, with llama.cpp's weight repacking off (see the module doc), once
    :func:`check_gguf_files` has passed the model and the ``lora_path`` adapter (``ReportxError`` if not)."""
    from llama_cpp import Llama

    check_gguf_files(model_path, kwargs.get("lora_path"))
    if repack_enabled():
        return Llama(model_path, **kwargs)
    with _no_repack():
        return Llama(model_path, **kwargs)
