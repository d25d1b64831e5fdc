"""The one place reportx talks to llama-cpp-python: every loader (extraction, export checks, tests) goes through
:func:`load_llama`, and every stage that runs a model (extraction's :class:`~reportx.extract.engine.Engine`, the
export checks, the Modelfile's stop tokens, re-quantisation) goes through :class:`LlamaModel`, :func:`captured_stderr`
and :func:`quantize_model`. llama-cpp-python's private attributes (``Llama._model``, ``Llama._ctx``,
``Llama._input_ids``) and its low-level ``llama_cpp.llama_*`` functions are used here and nowhere else, so a new
llama-cpp-python release is adapted to in this one module.

Batch invariance: a token's logits are the same bits whether it is decoded alone, in a run of the report's own
tokens or beside other reports' tokens (:class:`SequenceBatch`), so that batched extraction gives exactly the
records of one report at a time. llama.cpp's CPU back end breaks that in three places, each a kernel taken only for
some batch shapes, which sums the same products in another order than the kernel taken for the others: llamafile's
sgemm (every Q5_0, Q8_0 or F16 matrix product of 2 tokens or more; one token takes ggml's per-row dot product), the
tiled K-quant kernel (8 tokens or more) and the repacked weight layouts (a GEMM for rows in fours, a GEMV for the
rest). One rounding apart is enough: the model quantises its activations to 8 bits before each product, a rounding
flip there moves the logits by up to 1-2 (measured on the default model), and a near-tie between two tokens then
falls the other way. So reportx runs llama.cpp with one kernel per product whatever the shape: llama-cpp-python
built with sgemm taken for one token too (``tools/build_llama_cpp.py``, which ``make install`` runs; the wheel's
version carries the label it adds, :func:`sgemm_for_every_product`), ``GGML_CPU_TILED_MM=0`` set before llama.cpp's
first product, and repacking off while a model loads (the model parameter ``use_extra_bufts``, the ``--no-repack``
switch of llama.cpp's own tools, which ``llama_cpp.Llama`` has no argument for: hence :func:`load_llama`). A build
without sgemm (``-DGGML_LLAMAFILE=OFF``) is invariant too, and slower on batches; :func:`batch_invariant` accepts
either. What each costs in speed is measured in ``docs/extraction-speed.md``.

Repacking off has a second reason: a llama-cpp-python compiled for a CPU with AMX (Intel Sapphire Rapids and newer;
pip builds it from source with ``-march=native``) moves quantised weights into an AMX buffer type at load time, and
with llama-cpp-python 0.3.36 and the embedded Gemma 3 270M Q4_K_M the first multi-token ``decode`` then ends in a
segmentation fault (seen on this project's 2-core build machines, with and without a LoRA adapter, and on q8_0
files). ``REPORTX_LLAMA_REPACK=1`` turns repacking on (batch invariance is then lost).

Before llama.cpp sees them, the model file and the LoRA adapter (``lora_path``) are checked from their headers
(:func:`check_gguf_files`): llama.cpp trusts an adapter, and an empty, text or truncated file, or a model given as
adapter, ends the process with a segmentation fault instead of an error.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from reportx.errors import ReportxError

#: ggml's switch for its tiled K-quant matrix product, read once at llama.cpp's first product: off, for batch
#: invariance (see the module doc), unless the environment says otherwise
TILED_MM = "GGML_CPU_TILED_MM"
os.environ.setdefault(TILED_MM, "0")

_LOCK = threading.Lock()
#: fd 2 is process-wide: one capture at a time (re-entrant, so that a capture may nest in another on one thread)
_STDERR_LOCK = threading.RLock()
#: what ``llama_cpp.Llama`` raises for a model or adapter it cannot load
LOAD_ERRORS: tuple[type[Exception], ...] = (ValueError, RuntimeError, OSError)


def _lib(missing: str = "llama-cpp-python is not installed") -> Any:
    """llama-cpp-python's low-level binding (``llama_cpp.llama_cpp``), or ``ReportxError`` saying ``missing``."""
    try:
        from llama_cpp import llama_cpp as C
    except ImportError as exc:  # pragma: no cover - a dependency of the base install
        raise ReportxError(f"{missing}: {exc}") from None
    return C


def repack_enabled() -> bool:
    """Whether llama.cpp may repack weights into extra buffer types: only when REPORTX_LLAMA_REPACK is 1 (see the
    module doc: repacked weights break batch invariance, and crash an AMX build)."""
    return os.environ.get("REPORTX_LLAMA_REPACK", "").strip().lower() in {"1", "true", "yes"}


def built_with_sgemm() -> bool:
    """Whether the installed llama.cpp was built with llamafile's sgemm (``LLAMAFILE = 1`` in its system info)."""
    from llama_cpp import llama_cpp as C

    return "LLAMAFILE = 1" in C.llama_print_system_info().decode("utf-8", "replace")


#: the local version label of the llama-cpp-python that ``tools/build_llama_cpp.py`` builds (sgemm for one token too)
SGEMM_EVERYWHERE_LABEL = "+reportx.sgemm1"


def sgemm_for_every_product() -> bool:
    """Whether the installed llama-cpp-python is ``tools/build_llama_cpp.py``'s build: sgemm taken for every Q5_0,
    Q8_0 and F16 product, one token included (its version ends with :data:`SGEMM_EVERYWHERE_LABEL`)."""
    import llama_cpp

    return str(getattr(llama_cpp, "__version__", "")).endswith(SGEMM_EVERYWHERE_LABEL)


def batch_invariant() -> bool:
    """Whether a token's logits are the same bits in any batch (see the module doc): llama.cpp's sgemm taken for
    every shape or for none, its tiled K-quant kernel off and weight repacking off."""
    one_product_kernel = sgemm_for_every_product() or not built_with_sgemm()
    return one_product_kernel and os.environ.get(TILED_MM) == "0" and not repack_enabled()


def describe_build() -> str:
    """The installed llama.cpp's product kernels and settings, in words, for benchmarks' headers."""
    if sgemm_for_every_product():
        build = "llamafile's sgemm for every product (tools/build_llama_cpp.py)"
    elif built_with_sgemm():
        build = "llamafile's sgemm from 2 tokens (pip's build)"
    else:
        build = "no llamafile sgemm"
    return (f"{build}; tiled K-quant kernel {'off' if os.environ.get(TILED_MM) == '0' else 'on'}; repacking "
            f"{'on' if repack_enabled() else 'off'}; {'' if batch_invariant() else 'NOT '}batch-invariant")


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
    """A ``llama_cpp.Llama`` of ``model_path`` and ``kwargs``, with llama.cpp's weight repacking off (see the module
    doc), once :func:`check_gguf_files` has passed the model and the ``lora_path`` adapter (``ReportxError`` if not).
    This is reportx's one construction of a ``llama_cpp.Llama``."""
    from llama_cpp import Llama

    global _RAN
    check_gguf_files(model_path, kwargs.get("lora_path"))
    with contextlib.nullcontext() if repack_enabled() else _no_repack():
        llama = Llama(model_path, **kwargs)
    _RAN = _RAN or not kwargs.get("vocab_only", False)
    return llama


_RAN = False  # set once this process has loaded a model to run (see ran_in_this_process)


def ran_in_this_process() -> bool:
    """Whether this process has loaded a llama.cpp model to run. Its OpenMP thread pool does not survive a fork: a
    process forked after it would hang in its first decode, so :mod:`reportx.extract.workers` forks no worker by
    itself then."""
    return _RAN


# llama.cpp's log ------------------------------------------------------------------------------------------------


@contextmanager
def captured_stderr() -> Iterator[Callable[[], str]]:
    """Send the C library's stderr (fd 2: llama.cpp's load and quantisation log, which ignores ``verbose=False`` for
    some lines) to a temporary file while the block runs; yields a function returning its last lines, for error
    messages. Python's own ``sys.stderr`` is flushed first, so that nothing written before lands in the file."""
    with _STDERR_LOCK:
        with contextlib.suppress(AttributeError, OSError, ValueError):  # no real sys.stderr (a test runner's)
            sys.stderr.flush()
        try:
            saved = os.dup(2)
        except OSError:  # pragma: no cover - no fd 2 at all
            yield lambda: ""
            return
        with tempfile.TemporaryFile() as log:
            os.dup2(log.fileno(), 2)
            try:
                def tail() -> str:
                    log.seek(0)
                    lines = [line for line in log.read().decode("utf-8", "replace").splitlines() if line.strip()]
                    return " | ".join(lines[-2:])

                yield tail
            finally:
                with contextlib.suppress(AttributeError, OSError, ValueError):
                    sys.stderr.flush()
                os.dup2(saved, 2)
                os.close(saved)


class LoadError(Exception):
    """llama.cpp could not load a model: ``str()`` is the message of ``llama_cpp.Llama``'s exception, ``log`` the
    last lines of llama.cpp's log (may be empty). Each caller words its own one-line ``ReportxError`` from them."""

    def __init__(self, error: BaseException, log: str) -> None:
        super().__init__(str(error))
        self.error = error
        self.log = log


# A loaded model ---------------------------------------------------------------------------------------------------


class LlamaModel:
    """A loaded GGUF model (with its LoRA adapter, if any) and its one sequence in llama.cpp's KV cache.

    What every stage needs of llama.cpp and nothing more: tokenising, token bytes, the end-of-generation tokens,
    decoding a batch of tokens, the logits after the last one, trimming or clearing the KV cache. How to decode
    (greedy, constrained, prefix-cached) is each caller's business.
    """

    def __init__(self, llm: Any) -> None:
        C = _lib()
        self.llm = llm  #: the ``llama_cpp.Llama`` (its public methods: ``reset``, ``close``, ``create_completion``)
        self._C = C
        self.vocab = C.llama_model_get_vocab(llm._model.model)  #: the ``llama_vocab *`` of the low-level API
        self.n_vocab: int = llm.n_vocab()
        self.bos: int = llm.token_bos()
        self.eos: int = llm.token_eos()
        self.add_bos = bool(llm._model.add_bos_token())
        self._pieces: dict[int, bytes] = {}
        self._ends: dict[int, bool] = {}

    @classmethod
    def load(cls, model_path: str | Path, lora_path: str | Path | None = None, **kwargs: Any) -> LlamaModel:
        """Load ``model_path`` (with the LoRA adapter ``lora_path``) through :func:`load_llama`, llama.cpp's log
        captured; ``kwargs`` go to ``llama_cpp.Llama``. Raises :class:`LoadError` when llama.cpp cannot load it,
        ``ReportxError`` when the files fail :func:`check_gguf_files`."""
        _lib()
        with captured_stderr() as log_tail:
            try:
                llm = load_llama(str(model_path), lora_path=str(lora_path) if lora_path else None, **kwargs)
            except LOAD_ERRORS as exc:
                raise LoadError(exc, log_tail()) from None
        return cls(llm)

    def close(self) -> None:
        self.llm.close()

    @property
    def n_ctx(self) -> int:
        return int(self.llm.n_ctx())

    @property
    def metadata(self) -> dict[str, str]:
        """The GGUF's metadata key/values (arrays left out), as llama-cpp-python reads them."""
        return dict(self.llm.metadata)

    # Tokens ---------------------------------------------------------------------------------------------------

    def tokenize(self, text: str, *, bos: bool = False, special: bool = False) -> list[int]:
        """Tokens of ``text``; with ``bos`` the model's begin-of-sequence token first (when it uses one).

        ``special`` parses control-token markup (a chat template's turns).
        """
        toks = self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=special)
        if bos and self.add_bos and self.bos is not None and self.bos >= 0:
            toks = [self.bos, *toks]
        return toks

    def piece(self, token: int, special: bool = False) -> bytes:
        """The bytes a token writes: b"" for control tokens unless ``special`` (then their text, b"<eos>").
        Memoised without ``special``."""
        if not special:
            cached = self._pieces.get(token)
            if cached is not None:
                return cached
        size = 64
        while True:
            buf = ctypes.create_string_buffer(size)
            n = self._C.llama_token_to_piece(self.vocab, token, buf, size, 0, special)
            if n >= 0:
                break
            size = -n + 1
        data = buf.raw[:n]
        if not special:
            self._pieces[token] = data
        return data

    def detokenize(self, tokens: list[int]) -> bytes:
        return b"".join(self.piece(t) for t in tokens)

    def token_text(self, token: int) -> str:
        """A token's text in the vocabulary (``<bos>``, ``▁word``), for chat templates."""
        return str(self.llm._model.token_get_text(token))

    # End of generation ----------------------------------------------------------------------------------------
    #
    # One definition for every stage: llama.cpp's end-of-generation set (``llama_vocab_is_eog``: EOS, EOT and the
    # tokens it recognises by their text, such as Gemma's ``<end_of_turn>``), the set llama.cpp's own generation
    # stops at. Extraction, the export checks (both sides) and the Modelfile's stop words all use it.

    def is_end(self, token: int) -> bool:
        """Whether ``token`` ends generation (memoised: constrained decoding asks it of many candidates)."""
        end = self._ends.get(token)
        if end is None:
            end = self._ends[token] = bool(self._C.llama_vocab_is_eog(self.vocab, token))
        return end

    def end_of_generation(self) -> set[int]:
        """Every token of the vocabulary that :meth:`is_end` (a scan, one call per token: 1.5 s for Gemma's 262,144
        tokens on this project's busy 2-core machine)."""
        is_eog, vocab = self._C.llama_vocab_is_eog, self.vocab
        return {t for t in range(self.n_vocab) if is_eog(vocab, t)}

    # The sequence ---------------------------------------------------------------------------------------------

    @property
    def n_tokens(self) -> int:
        """Tokens in the sequence (the KV cache)."""
        return int(self.llm.n_tokens)

    @property
    def input_ids(self) -> np.ndarray:
        """The tokens in the KV cache (a view, valid until the next decode)."""
        return np.asarray(self.llm._input_ids)

    def keep(self, n: int) -> bool:
        """Keep the first ``n`` tokens of the sequence and drop the rest from the KV cache; False when llama.cpp
        cannot (the sequence is then unchanged: :meth:`reset` it)."""
        if self.llm._ctx.kv_cache_seq_rm(-1, n, -1):
            self.llm.n_tokens = n
            return True
        return False

    def reset(self) -> None:
        """An empty sequence and KV cache."""
        self.llm.reset()
        self.llm._ctx.kv_cache_clear()

    def decode(self, tokens: list[int]) -> None:
        """Append ``tokens`` to the sequence (in batches of ``n_batch``) and compute the logits after the last."""
        self.llm.eval(tokens)

    def logits(self) -> np.ndarray:
        """The logits after the last decoded token (a view valid until the next decode)."""
        ptr = self.llm._ctx.get_logits_ith(-1)
        return np.ctypeslib.as_array(ctypes.cast(ptr, ctypes.POINTER(ctypes.c_float)), shape=(self.n_vocab,))


class SequenceBatch:
    """A second llama.cpp context on a loaded :class:`LlamaModel`'s weights and LoRA adapter, holding up to ``n_seq``
    sequences, each in a KV stream of its own (``n_ctx / n_seq`` cells), decoded together: one ``llama_decode``
    evaluates a token run of every sequence that has one, with logits only after each run's last token. Batched
    extraction (:mod:`reportx.extract.batched`) is built on it.

    Why a context of our own: ``llama_cpp.Llama`` makes its context with one sequence and offers no multi-sequence
    decode; the low-level API does (``llama_batch`` with sequence ids, ``llama_memory_seq_rm`` / ``_cp``).
    """

    def __init__(self, model: LlamaModel, n_seq: int, n_ctx: int, n_threads: int, n_batch: int = 512) -> None:
        C = self._C = model._C
        # A split model (SplitModel): the body evaluates embedding rows and returns final hidden states, the
        # numpy head (reportx.extract.head) makes each sequence's logits over its candidates.
        self.head = model.head if isinstance(model, SplitModel) else None
        self._vocab = {seq: self.head.vocabulary() for seq in range(n_seq)} if self.head else {}
        params = C.llama_context_default_params()
        params.n_ctx = n_ctx
        params.n_batch = params.n_ubatch = n_batch
        params.n_seq_max = n_seq
        # A stream per sequence: a token attends over its own sequence's cells only (with one unified cache it
        # attends over every sequence's, masked: measured slower with 16 reports in flight).
        params.kv_unified = False
        params.n_threads = params.n_threads_batch = n_threads
        params.no_perf = True
        # As llama_cpp.Llama makes its context (flash_attn=False): with flash attention a sequence's logits differ
        # from the sequential engine's even when it is decoded alone (up to 1.2 in a logit, measured).
        params.flash_attn_type = C.LLAMA_FLASH_ATTN_TYPE_DISABLED
        if self.head is not None:
            params.embeddings = True
            params.pooling_type = C.LLAMA_POOLING_TYPE_NONE
        weights = model.body if isinstance(model, SplitModel) else model.llm._model.model
        with captured_stderr() as log_tail:
            ctx = C.llama_init_from_model(weights, params)
        if not ctx:
            raise ReportxError(f"llama.cpp cannot make a context of {n_seq} sequences and {n_ctx} cells: {log_tail()}")
        self.ctx = ctx
        self.n_vocab = model.n_vocab
        self.n_batch = n_batch
        self.n_ctx = int(C.llama_n_ctx(ctx))
        self.mem = C.llama_get_memory(ctx)
        self.n_embd = self.head.n_embd if self.head else 0
        self.batch = C.llama_batch_init(n_batch, self.n_embd, 1)
        adapter = getattr(model.llm, "_lora_adapter", None)
        if adapter is not None:
            adapters = (C.llama_adapter_lora_p_ctypes * 1)(adapter)
            scales = (ctypes.c_float * 1)(float(model.llm.lora_scale))
            if C.llama_set_adapters_lora(ctx, adapters, 1, scales):
                self.close()
                raise ReportxError("llama.cpp cannot apply the LoRA adapter to a batch context")

    def remove(self, seq: int, start: int = 0) -> None:
        """Drop sequence ``seq``'s tokens at positions ``start`` and after (all of them by default)."""
        self._C.llama_memory_seq_rm(self.mem, seq, start, -1)
        if self.head is not None:
            self.head.removed(self._vocab[seq], start)

    def copy(self, src: int, dst: int) -> None:
        """Make sequence ``dst`` a copy of the whole of ``src`` (its stream's cells are copied, nothing is evaluated;
        llama.cpp copies between streams only whole sequences)."""
        self._C.llama_memory_seq_cp(self.mem, src, dst, -1, -1)
        if self.head is not None:
            self._vocab[dst] = self.head.vocabulary()
            self._vocab[dst].runs = list(self._vocab[src].runs)

    def decode(self, runs: list[tuple[int, int, list[int]]], logits: bool | list[bool] = True) -> list[np.ndarray]:
        """Evaluate each ``(sequence, position of its first token, tokens)`` run, in ``n_batch`` chunks; returns per
        run a copy of the logits after its last token (an empty array where ``logits``, one flag or one per run, is
        False). Raises ``RuntimeError`` when llama.cpp refuses a chunk (no free cells, say)."""
        asked = logits if isinstance(logits, list) else [logits] * len(runs)
        flat = [(k, seq, pos + i, token, asked[k] and i == len(tokens) - 1)
                for k, (seq, pos, tokens) in enumerate(runs) for i, token in enumerate(tokens)]
        out: list[np.ndarray] = [np.empty(0, dtype=np.float32)] * len(runs)
        batch, head = self.batch, self.head
        if head is not None:
            for seq, pos, tokens in runs:
                head.evaluated(self._vocab[seq], pos, tokens)
        for begin in range(0, len(flat), self.n_batch):
            chunk = flat[begin:begin + self.n_batch]
            if head is not None:  # embedding rows in, every token's final hidden state out (embeddings on)
                rows_in = np.ctypeslib.as_array(batch.embd, shape=(self.n_batch, self.n_embd))
                rows_in[:len(chunk)] = head.embed([token for _, _, _, token, _ in chunk])
            for i, (_, seq, pos, token, wanted) in enumerate(chunk):
                if head is None:
                    batch.token[i] = token
                batch.pos[i] = pos
                batch.n_seq_id[i] = 1
                batch.seq_id[i][0] = seq
                batch.logits[i] = wanted or head is not None  # embeddings on: llama.cpp outputs every token
            batch.n_tokens = len(chunk)
            status = int(self._C.llama_decode(self.ctx, batch))
            if status != 0:
                raise RuntimeError(f"llama_decode returned {status} for a batch of {len(chunk)} tokens")
            if head is not None:
                hidden = np.ctypeslib.as_array(ctypes.cast(self._C.llama_get_embeddings(self.ctx), ctypes.POINTER(ctypes.c_float)),
                                               shape=(len(chunk), self.n_embd))
                for i, (k, seq, _, _, wanted) in enumerate(chunk):
                    if wanted:
                        out[k] = head.logits(hidden[i], self._vocab[seq])
                continue
            wanted_runs = [k for k, _, _, _, wanted in chunk if wanted]
            if wanted_runs:
                rows = np.ctypeslib.as_array(ctypes.cast(self._C.llama_get_logits(self.ctx), ctypes.POINTER(ctypes.c_float)),
                                             shape=(len(wanted_runs), self.n_vocab))
                for row, k in enumerate(wanted_runs):
                    out[k] = rows[row].copy()
        return out

    def close(self) -> None:
        if getattr(self, "batch", None) is not None:
            self._C.llama_batch_free(self.batch)
            self.batch = None
        if getattr(self, "ctx", None):
            self._C.llama_free(self.ctx)
            self.ctx = None


class SplitModel(LlamaModel):
    """A model whose output head is split off (:mod:`reportx.extract.head`): the whole model's vocabulary (loaded
    ``vocab_only``) for tokens, and its body (:func:`reportx.export.split.write_body_gguf`) in llama.cpp, with the
    numpy ``head``, for decoding. Its one sequence is a :class:`SequenceBatch` of one, so sequential and batched
    decoding evaluate tokens the same way."""

    def __init__(self, model_path: str | Path, body_path: str | Path, *, n_ctx: int, n_batch: int, n_threads: int) -> None:
        from reportx.extract.head import OutputHead

        C = _lib()
        with captured_stderr() as log_tail:
            try:
                vocab = load_llama(str(model_path), vocab_only=True, verbose=False)
            except LOAD_ERRORS as exc:
                raise LoadError(exc, log_tail()) from None
        super().__init__(vocab)
        check_gguf_files(body_path)
        params = C.llama_model_default_params()
        params.use_extra_bufts = repack_enabled()
        with captured_stderr() as log_tail:
            body = C.llama_model_load_from_file(str(body_path).encode(), params)
        if not body:
            vocab.close()
            raise LoadError(RuntimeError(f"llama.cpp cannot load {body_path}"), log_tail())
        global _RAN
        _RAN = True
        self.body = body
        self.head = OutputHead(model_path, [self.piece(t) for t in range(self.n_vocab)], self.end_of_generation())
        self._sequence = SequenceBatch(self, 1, n_ctx, n_threads, n_batch)
        self._tokens: list[int] = []
        self._last = np.empty(0, dtype=np.float32)

    def close(self) -> None:
        self._sequence.close()
        if self.body:
            self._C.llama_model_free(self.body)
            self.body = None
        self.llm.close()

    @property
    def n_ctx(self) -> int:
        return self._sequence.n_ctx

    @property
    def n_tokens(self) -> int:
        return len(self._tokens)

    @property
    def input_ids(self) -> np.ndarray:
        return np.asarray(self._tokens, dtype=np.intc)

    def keep(self, n: int) -> bool:
        self._sequence.remove(0, n)
        del self._tokens[n:]
        return True

    def reset(self) -> None:
        self._sequence.remove(0)
        self._tokens = []

    def decode(self, tokens: list[int]) -> None:
        self._last = self._sequence.decode([(0, len(self._tokens), tokens)])[0]
        self._tokens += tokens

    def logits(self) -> np.ndarray:
        return self._last


# Quantisation -----------------------------------------------------------------------------------------------------


def quantize_model(src: str | Path, dst: str | Path, file_type: int, *, n_threads: int | None = None) -> int:
    """llama.cpp's own quantizer (``llama_model_quantize``, the function behind its ``llama-quantize`` tool): write
    the GGUF model ``src`` to ``dst`` as ``file_type`` (``enum llama_ftype``), re-quantising tensors that are
    already quantised when the mixture asks for another type; ``n_threads`` defaults to every core. Returns
    llama.cpp's status (0: written); its log goes to stderr (see :func:`captured_stderr`)."""
    C = _lib("quantising needs llama-cpp-python")
    params = C.llama_model_quantize_default_params()
    params.ftype = file_type
    params.nthread = n_threads or 0  # 0: every core
    params.allow_requantize = True
    return int(C.llama_model_quantize(str(src).encode(), str(dst).encode(), params))
