"""The one place reportx constructs a ``llama_cpp.Llama``: every loader (extraction, export checks, tests) goes
through :func:`load_llama`.

Why not ``Llama(...)`` directly: on CPUs with AMX (Intel Sapphire Rapids and newer) llama.cpp moves quantised
weights into an "extra" AMX buffer type and repacks them at load time. With llama-cpp-python 0.3.36 and the
embedded Gemma 3 270M Q4_K_M, the first ``decode`` on such a machine then ends in a segmentation fault (seen on
this project's 2-core build machines, with and without a LoRA adapter); with the repacking off the same build
runs and answers normally. ``Llama`` has no argument for it, so the model parameter ``use_extra_bufts`` (the
``--no-repack`` switch of llama.cpp's own tools) is cleared while the model loads. ``REPORTX_LLAMA_REPACK=1``
turns repacking back on, for a llama.cpp build where it works.
"""

from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from typing import Any, Iterator

_LOCK = threading.Lock()


def repack_enabled() -> bool:
    """Whether llama.cpp may repack weights into extra buffer types (AMX...); off unless REPORTX_LLAMA_REPACK=1."""
    return os.environ.get("REPORTX_LLAMA_REPACK", "").strip() in {"1", "true", "yes"}


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


def load_llama(model_path: str, **kwargs: Any):
    """``llama_cpp.Llama(model_path, **kwargs)``, with llama.cpp's weight repacking off (see the module doc)."""
    from llama_cpp import Llama

    if repack_enabled():
        return Llama(model_path, **kwargs)
    with _no_repack():
        return Llama(model_path, **kwargs)
