"""The export parity check: does llama.cpp with base GGUF + adapter GGUF (or a merged GGUF) answer like the trained
PyTorch model? :func:`compare_ggufs` asks the same of two GGUF models in llama.cpp (a merged GGUF against base +
adapter).

On ``n`` validation reports, both generate greedily from the *same token ids* (the fine-tuned prompt tokenised once
by llama.cpp, BOS once at the start), stop at the same end-of-generation tokens (llama.cpp's EOG set: ``<eos>``,
``<end_of_turn>``, ...) or after the same ``max_tokens``, and their answers are compared token for token.
Feeding identical ids isolates the export (weights, adapter scale, layouts) from tokenizer differences.

The PyTorch side is the base loaded as in training (a GGUF base is de-quantised to float32 by transformers) with
the PEFT adapter on top; the llama.cpp side computes with the GGUF as stored (e.g. Q4_K_M), so on a quantised base
small logit differences are expected and an answer can occasionally diverge where two tokens are nearly tied.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
import tempfile
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from reportx.errors import ReportxError
from reportx.export.lora import _read_card, locate_adapter


@dataclass
class ExampleCheck:
    """One report: the two answers and where they first differ."""

    id: str
    match: bool
    prompt_tokens: int
    torch_text: str
    gguf_text: str
    torch_tokens: list[int]
    gguf_tokens: list[int]
    first_difference: int | None  # index of the first differing answer token; None when identical
    #: at the first difference, PyTorch's logit for its own token minus its logit for llama.cpp's token: a small
    #: margin means a near-tie that quantisation or float rounding can flip; None when identical
    torch_margin: float | None = None


@dataclass
class CheckResult:
    """The parity check's outcome: ``rate`` is the share of reports with identical answers."""

    n: int
    matches: int
    rate: float
    max_tokens: int
    base_gguf: str  # the model llama.cpp loaded (a base, or a merged model)
    adapter_gguf: str | None  # the LoRA llama.cpp applied on it, if any
    seconds: float
    examples: list[ExampleCheck] = field(default_factory=list)
    #: what the GGUF was compared with: "pytorch" (the trained model), or the reference GGUF model (and adapter) in
    #: llama.cpp; the ``torch_*`` fields of each example hold the reference's answer and margin
    reference: str = "pytorch"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _base_gguf_from_card(card: dict[str, Any], base_gguf: str | Path | None) -> Path:
    if base_gguf is not None:
        path = Path(base_gguf)
        if not path.is_file():
            raise ReportxError(f"base GGUF not found: {path}")
        return path
    info = card.get("base_model") or {}
    if info.get("kind") != "gguf":
        raise ReportxError(
            f"the run's base model is {info.get('kind')!r} ({info.get('source')}), not a GGUF file: pass the base GGUF "
            "for llama.cpp to check against (--base PATH.gguf)"
        )
    path = Path(info.get("path") or "")
    if not path.is_file():
        if info.get("source") in ("default", "", None):
            from reportx.models import default_base_model

            path = default_base_model()
        else:
            raise ReportxError(f"the run's base GGUF is gone: {path}")
    expected = info.get("sha256")
    if expected:
        from reportx.models import sha256_file

        if sha256_file(path) != expected:
            raise ReportxError(f"{path} is not the base the adapter was trained on (sha256 differs from the run card)")
    return path


def load_trained_model(card: dict[str, Any], adapter_dir: Path):
    """The trained PyTorch model: the base loaded as in training (float32) with the PEFT adapter, eval mode."""
    try:
        import torch
        from peft import PeftModel
        from transformers import AutoModelForCausalLM
    except ImportError as exc:
        raise ReportxError(f"the export check needs the [train] extra (torch, transformers, peft): {exc}") from None
    info = card.get("base_model") or {}
    kind, location = info.get("kind"), info.get("path") or info.get("source")
    kwargs: dict[str, Any] = {"dtype": torch.float32, "trust_remote_code": False}
    if kind == "gguf":
        path = _base_gguf_from_card(card, None)
        # an absolute gguf_file: transformers takes a relative name that exists in the working directory as is
        location, kwargs["gguf_file"] = str(path.parent), str(path.resolve())
    if not location:
        raise ReportxError("the run card does not say where the base model is (base_model.path)")
    from transformers.utils import logging as hf_logging

    verbosity, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # transformers' own deprecation notices
            base = AutoModelForCausalLM.from_pretrained(location, **kwargs)
            model = PeftModel.from_pretrained(base, str(adapter_dir))
    except (OSError, ValueError) as exc:
        raise ReportxError(f"cannot load the trained model ({location} + {adapter_dir}): {str(exc).splitlines()[0]}") from None
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()
    return model.eval()


@contextlib.contextmanager
def _captured_stderr():
    """Send the C library's stderr (llama.cpp's load log) to a temporary file; yields a function returning its
    last lines, for error messages."""
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # no real stderr (e.g. captured by a test runner)
        yield lambda: ""
        return
    sys.stderr.flush()
    saved = os.dup(fd)
    with tempfile.TemporaryFile() as log:
        os.dup2(log.fileno(), fd)
        try:
            def tail() -> str:
                log.seek(0)
                lines = [line for line in log.read().decode("utf-8", "replace").splitlines() if line.strip()]
                return " | ".join(lines[-2:])

            yield tail
        finally:
            sys.stderr.flush()
            os.dup2(saved, fd)
            os.close(saved)


class _LlamaSide:
    """llama-cpp-python with base + adapter: tokenising, the EOG set, and greedy decoding on token ids."""

    def __init__(self, model_gguf: Path, adapter_gguf: Path | None, n_ctx: int, n_threads: int | None) -> None:
        try:
            from llama_cpp import llama_cpp as C
        except ImportError as exc:  # pragma: no cover - a dependency of the base install
            raise ReportxError(f"llama-cpp-python is not installed: {exc}") from None
        from reportx.llamacpp import load_llama

        self.C = C
        with _captured_stderr() as log_tail:
            try:
                self.llm = load_llama(
                    str(model_gguf),
                    lora_path=str(adapter_gguf) if adapter_gguf else None,
                    n_ctx=n_ctx,
                    n_batch=min(512, n_ctx),
                    n_threads=n_threads,
                    n_threads_batch=n_threads,
                    logits_all=False,
                    verbose=False,
                )
            except (ValueError, RuntimeError, OSError) as exc:
                detail = log_tail()
                what = f"{model_gguf.name} with {adapter_gguf}" if adapter_gguf else str(model_gguf)
                raise ReportxError(f"llama.cpp cannot load {what}: {exc}" + (f" ({detail})" if detail else "")) from None
        self.vocab = C.llama_model_get_vocab(self.llm._model.model)
        self.n_vocab = self.llm.n_vocab()
        is_eog = C.llama_vocab_is_eog
        self.eog = {t for t in range(self.n_vocab) if is_eog(self.vocab, t)}
        self.bos = self.llm.token_bos()
        self.add_bos = bool(self.llm._model.add_bos_token())

    def tokenize(self, text: str) -> list[int]:
        tokens = self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)
        return [self.bos, *tokens] if self.add_bos and self.bos is not None and self.bos >= 0 else tokens

    def piece(self, token: int) -> bytes:
        size = 64
        while True:
            buf = ctypes.create_string_buffer(size)
            n = self.C.llama_token_to_piece(self.vocab, token, buf, size, 0, False)
            if n >= 0:
                return buf.raw[:n]
            size = -n + 1

    def text(self, tokens: list[int]) -> str:
        return b"".join(self.piece(t) for t in tokens).decode("utf-8", errors="replace")

    def generate(self, prompt: list[int], max_tokens: int) -> tuple[list[int], int | None]:
        """Greedy answer tokens, and the end-of-generation token that stopped it (None at ``max_tokens``)."""
        llm = self.llm
        self._restart(prompt)
        out: list[int] = []
        while len(out) < max_tokens:
            token = int(np.argmax(self._last_logits()))
            if token in self.eog:
                return out, token
            out.append(token)
            if len(out) < max_tokens:
                llm.eval([token])
        return out, None

    def margin(self, prompt: list[int], prefix: list[int], mine: int, theirs: int) -> float:
        """This model's logit for ``mine`` minus its logit for ``theirs`` after ``prompt + prefix``."""
        self._restart(prompt + prefix)
        logits = self._last_logits()
        return float(logits[mine] - logits[theirs])

    def _restart(self, tokens: list[int]) -> None:
        self.llm.reset()
        self.llm._ctx.kv_cache_clear()
        self.llm.eval(tokens)

    def _last_logits(self) -> np.ndarray:
        ptr = self.llm._ctx.get_logits_ith(-1)
        return np.ctypeslib.as_array(ctypes.cast(ptr, ctypes.POINTER(ctypes.c_float)), shape=(self.n_vocab,))

    def close(self) -> None:
        self.llm.close()


def torch_generate(model: Any, prompt: list[int], max_tokens: int, eog: set[int]) -> tuple[list[int], int | None]:
    """Greedy decoding with transformers (``do_sample=False``) stopping at any of ``eog``: the answer tokens and
    the end-of-generation token that stopped it (None at ``max_tokens``)."""
    import torch
    from transformers import GenerationConfig

    stop = sorted(eog)
    config = GenerationConfig(
        do_sample=False, max_new_tokens=max_tokens, eos_token_id=stop or None, pad_token_id=stop[0] if stop else 0
    )
    ids = torch.tensor([prompt], dtype=torch.long)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # transformers' own deprecation notices, not the user's
        out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), generation_config=config)
    answer = out[0, len(prompt):].tolist()
    for i, token in enumerate(answer):
        if token in eog:
            return answer[:i], token
    return answer, None


def torch_margin(model: Any, prompt: list[int], prefix: list[int], mine: int, theirs: int) -> float:
    """PyTorch's logit for ``mine`` minus its logit for ``theirs`` after ``prompt + prefix``."""
    import torch

    with torch.no_grad():
        logits = model(torch.tensor([prompt + prefix], dtype=torch.long)).logits[0, -1]
    return float(logits[mine] - logits[theirs])


def _resolve_val_file(path: str | Path, run_dir: Path) -> Path:
    """A run card's val file: as written (absolute, or relative to the working directory), else relative to the run
    directory or its parent (where ``reportx train`` was probably run)."""
    path = Path(path)
    for candidate in (path, run_dir / path, run_dir.parent / path):
        if candidate.is_file():
            return candidate
    raise ReportxError(f"the run's validation file {path} is not found (pass val_file=)")


def check_adapter(
    run_dir: str | Path,
    adapter_gguf: str | Path | None = None,
    n: int = 5,
    *,
    base_gguf: str | Path | None = None,
    max_tokens: int = 256,
    val_file: str | Path | None = None,
    torch_model: Any = None,
    n_threads: int | None = None,
) -> CheckResult:
    """Compare greedy answers of the trained PyTorch model and llama.cpp (base GGUF + ``adapter_gguf``) on the first
    ``n`` reports of the run's validation file (or ``val_file``); see the module docstring.

    ``adapter_gguf`` defaults to ``RUN_DIR/adapter.gguf``; ``base_gguf`` to the run card's base when that is a GGUF
    file (its sha256 is checked). ``torch_model`` skips loading the trained model (tests pass one in).
    """
    _check_sizes(n, max_tokens)
    _adapter_dir, found_run_dir, card = _trained_run(run_dir)
    adapter_gguf = Path(adapter_gguf) if adapter_gguf else found_run_dir / "adapter.gguf"
    if not adapter_gguf.is_file():
        raise ReportxError(f"adapter GGUF not found: {adapter_gguf} (export it first)")
    base_path = _base_gguf_from_card(card, base_gguf)
    return check_gguf(
        run_dir, base_path, n, adapter_gguf=adapter_gguf, max_tokens=max_tokens, val_file=val_file,
        torch_model=torch_model, n_threads=n_threads,
    )


def check_gguf(
    run_dir: str | Path,
    model_gguf: str | Path,
    n: int = 5,
    *,
    adapter_gguf: str | Path | None = None,
    max_tokens: int = 256,
    val_file: str | Path | None = None,
    torch_model: Any = None,
    n_threads: int | None = None,
) -> CheckResult:
    """Compare greedy answers of the trained PyTorch model and llama.cpp running ``model_gguf`` (a merged model, or
    a base with ``adapter_gguf`` on it) on the first ``n`` validation reports of the run (or of ``val_file``).
    ``torch_model`` skips loading the trained model (tests pass one in)."""
    started = time.perf_counter()
    _check_sizes(n, max_tokens)
    adapter_dir, found_run_dir, card = _trained_run(run_dir)
    model_path = _existing(model_gguf, "GGUF model")
    adapter_path = _existing(adapter_gguf, "adapter GGUF") if adapter_gguf else None
    reports, prompts_text = _val_prompts(card, found_run_dir, n, val_file)
    llama = _LlamaSide(model_path, adapter_path, n_ctx=_rough_ctx(prompts_text, max_tokens), n_threads=n_threads)
    try:
        prompts = [llama.tokenize(p) for p in prompts_text]
        model = torch_model if torch_model is not None else load_trained_model(card, adapter_dir)
        eog = llama.eog
        examples = _compare(
            reports, prompts, llama, max_tokens,
            reference=lambda prompt: torch_generate(model, prompt, max_tokens, eog),
            reference_margin=lambda prompt, prefix, mine, theirs: torch_margin(model, prompt, prefix, mine, theirs),
        )
    finally:
        llama.close()
    return _result(examples, max_tokens, model_path, adapter_path, started, "pytorch")


def compare_ggufs(
    run_dir: str | Path,
    model_gguf: str | Path,
    reference_gguf: str | Path,
    n: int = 5,
    *,
    reference_adapter: str | Path | None = None,
    max_tokens: int = 256,
    val_file: str | Path | None = None,
    n_threads: int | None = None,
) -> CheckResult:
    """Compare greedy answers of two GGUF models in llama.cpp, ``model_gguf`` against ``reference_gguf`` (with
    ``reference_adapter`` on it): e.g. a merged GGUF against the base + adapter it was merged from. Both decode the
    same token ids (the fine-tuned prompt of the run's schema on its first ``n`` validation reports, or of
    ``val_file``); ``run_dir`` needs only a run card (no PEFT adapter). In the result, the ``torch_*`` fields of each
    example hold the reference's answer, and its logit margin at the first difference."""
    started = time.perf_counter()
    _check_sizes(n, max_tokens)
    run_path = Path(run_dir)
    card = _read_card(run_path) if (run_path / "run_card.json").is_file() else None
    if card is None:
        raise ReportxError(f"{run_dir} is not a training run (the comparison needs its run_card.json)")
    model_path = _existing(model_gguf, "GGUF model")
    reference_path = _existing(reference_gguf, "reference GGUF model")
    reference_lora = _existing(reference_adapter, "adapter GGUF") if reference_adapter else None
    reports, prompts_text = _val_prompts(card, run_path, n, val_file)
    n_ctx = _rough_ctx(prompts_text, max_tokens)
    llama = _LlamaSide(model_path, None, n_ctx=n_ctx, n_threads=n_threads)
    try:
        reference = _LlamaSide(reference_path, reference_lora, n_ctx=n_ctx, n_threads=n_threads)
        try:
            if reference.n_vocab != llama.n_vocab:
                raise ReportxError(f"{model_path} and {reference_path} have different vocabularies")
            prompts = [llama.tokenize(p) for p in prompts_text]
            examples = _compare(
                reports, prompts, llama, max_tokens,
                reference=lambda prompt: reference.generate(prompt, max_tokens),
                reference_margin=reference.margin,
            )
        finally:
            reference.close()
    finally:
        llama.close()
    what = f"llama.cpp: {reference_path}" + (f" + {reference_lora}" if reference_lora else "")
    return _result(examples, max_tokens, model_path, None, started, what)


def _check_sizes(n: int, max_tokens: int) -> None:
    if n <= 0:
        raise ReportxError(f"the check needs a positive number of reports, got {n}")
    if max_tokens <= 0:
        raise ReportxError(f"max_tokens must be positive, got {max_tokens}")


def _trained_run(run_dir: str | Path) -> tuple[Path, Path, dict[str, Any]]:
    adapter_dir, found_run_dir, card = locate_adapter(run_dir)
    if card is None or found_run_dir is None:
        raise ReportxError(f"{run_dir} is not a training run (the check needs its run_card.json)")
    return adapter_dir, found_run_dir, card


def _existing(path: str | Path, what: str) -> Path:
    path = Path(path)
    if not path.is_file():
        raise ReportxError(f"{what} not found: {path}")
    return path


def _val_prompts(card: dict[str, Any], run_dir: Path, n: int, val_file: str | Path | None) -> tuple[list[Any], list[str]]:
    """The first ``n`` labelled validation reports of the run and their fine-tuned prompts (the run's schema)."""
    from reportx.labelled import read_labelled
    from reportx.prompts import finetuned_prompt
    from reportx.schema import load_schema

    val_path = val_file or (card.get("data") or {}).get("val_file")
    if not val_path:
        raise ReportxError("the run has no validation file to check on; pass one (val_file)")
    schema = load_schema(card.get("schema"))
    reports = read_labelled(Path(val_file) if val_file else _resolve_val_file(val_path, run_dir), schema, limit=n)
    return reports, [finetuned_prompt(r.text, schema) for r in reports]


def _rough_ctx(prompts_text: list[str], max_tokens: int) -> int:
    # a prompt has at most one token per UTF-8 byte (+ BOS): enough context without tokenising twice
    return max(len(p.encode("utf-8")) for p in prompts_text) + max_tokens + 16


def _compare(
    reports: list[Any],
    prompts: list[list[int]],
    llama: _LlamaSide,
    max_tokens: int,
    *,
    reference: Callable[[list[int]], tuple[list[int], int | None]],
    reference_margin: Callable[[list[int], list[int], int, int], float],
) -> list[ExampleCheck]:
    """Greedy answers of ``llama`` and of the reference on each prompt, compared token for token."""
    examples: list[ExampleCheck] = []
    for report, prompt in zip(reports, prompts):
        gguf_tokens, gguf_stop = llama.generate(prompt, max_tokens)
        ref_tokens, ref_stop = reference(prompt)
        first = next((i for i, (a, b) in enumerate(zip(ref_tokens, gguf_tokens)) if a != b), None)
        if first is None and len(ref_tokens) != len(gguf_tokens):
            first = min(len(ref_tokens), len(gguf_tokens))
        margin = None
        if first is not None:
            # where one answer ended (EOG) and the other went on, the EOG token is that side's choice
            mine = ref_tokens[first] if first < len(ref_tokens) else ref_stop
            theirs = gguf_tokens[first] if first < len(gguf_tokens) else gguf_stop
            if mine is not None and theirs is not None:
                margin = reference_margin(prompt, ref_tokens[:first], mine, theirs)
        examples.append(
            ExampleCheck(
                id=report.id,
                match=first is None,
                prompt_tokens=len(prompt),
                torch_text=llama.text(ref_tokens),
                gguf_text=llama.text(gguf_tokens),
                torch_tokens=ref_tokens,
                gguf_tokens=gguf_tokens,
                first_difference=first,
                torch_margin=margin,
            )
        )
    return examples


def _result(
    examples: list[ExampleCheck], max_tokens: int, model: Path, adapter: Path | None, started: float, reference: str
) -> CheckResult:
    matches = sum(e.match for e in examples)
    return CheckResult(
        n=len(examples),
        matches=matches,
        rate=matches / len(examples),
        max_tokens=max_tokens,
        base_gguf=str(model),
        adapter_gguf=str(adapter) if adapter else None,
        seconds=round(time.perf_counter() - started, 2),
        examples=examples,
        reference=reference,
    )
