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

import functools
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from reportx.errors import ReportxError
from reportx.export.lora import locate_adapter
from reportx.llamacpp import LlamaModel, LoadError
from reportx.train.runcard import RunCard, is_run_dir, load_run_card


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


def _base_gguf_from_card(card: RunCard | dict[str, Any], base_gguf: str | Path | None) -> Path:
    # the run card's own rule (RunCard.base_gguf); a dict is a card as JSON
    return (card if isinstance(card, RunCard) else RunCard.model_validate(card)).base_gguf(base_gguf)


def load_trained_model(card: RunCard, adapter_dir: Path):
    """The trained PyTorch model: the base loaded as in training (float32) with the PEFT adapter, eval mode."""
    try:
        import torch
        from peft import PeftModel
        from transformers import AutoModelForCausalLM
    except ImportError as exc:
        raise ReportxError(f"the export check needs the [train] extra (torch, transformers, peft): {exc}") from None
    kind, location = card.base_model.kind, card.base_model.path or card.base_model.source
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
        first_line = str(exc).splitlines()[0]
        raise ReportxError(f"cannot load the trained model ({location} + {adapter_dir}): {first_line}") from None
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()
    return model.eval()


def _load_llama(model_gguf: Path, adapter_gguf: Path | None, n_ctx: int, n_threads: int | None) -> LlamaModel:
    """llama.cpp with ``model_gguf`` (+ ``adapter_gguf``), or ``ReportxError`` in one line with llama.cpp's log."""
    try:
        return LlamaModel.load(
            model_gguf,
            adapter_gguf,
            n_ctx=n_ctx,
            n_batch=min(512, n_ctx),
            n_threads=n_threads,
            n_threads_batch=n_threads,
            logits_all=False,
            verbose=False,
        )
    except LoadError as exc:
        what = f"{model_gguf.name} with {adapter_gguf}" if adapter_gguf else str(model_gguf)
        raise ReportxError(f"llama.cpp cannot load {what}: {exc}" + (f" ({exc.log})" if exc.log else "")) from None


def llama_generate(llama: LlamaModel, prompt: list[int], max_tokens: int) -> tuple[list[int], int | None]:
    """Greedy decoding in llama.cpp from ``prompt`` (an empty cache): the answer tokens, and the end-of-generation
    token that stopped it (None at ``max_tokens``)."""
    llama.reset()
    llama.decode(prompt)
    out: list[int] = []
    while len(out) < max_tokens:
        token = int(np.argmax(llama.logits()))
        if llama.is_end(token):
            return out, token
        out.append(token)
        if len(out) < max_tokens:
            llama.decode([token])
    return out, None


def llama_margin(llama: LlamaModel, prompt: list[int], prefix: list[int], mine: int, theirs: int) -> float:
    """llama.cpp's logit for ``mine`` minus its logit for ``theirs`` after ``prompt + prefix``."""
    llama.reset()
    llama.decode(prompt + prefix)
    logits = llama.logits()
    return float(logits[mine] - logits[theirs])


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


def resolve_val_file(path: str | Path, run_dir: Path) -> Path:
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
    llama = _load_llama(model_path, adapter_path, n_ctx=_rough_ctx(prompts_text, max_tokens), n_threads=n_threads)
    try:
        prompts = [llama.tokenize(p, bos=True) for p in prompts_text]
        model = torch_model if torch_model is not None else load_trained_model(card, adapter_dir)
        eog = llama.end_of_generation()
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
    if not is_run_dir(run_path):
        raise ReportxError(f"{run_dir} is not a training run (the comparison needs its run_card.json)")
    card = load_run_card(run_path)
    model_path = _existing(model_gguf, "GGUF model")
    reference_path = _existing(reference_gguf, "reference GGUF model")
    reference_lora = _existing(reference_adapter, "adapter GGUF") if reference_adapter else None
    reports, prompts_text = _val_prompts(card, run_path, n, val_file)
    n_ctx = _rough_ctx(prompts_text, max_tokens)
    llama = _load_llama(model_path, None, n_ctx=n_ctx, n_threads=n_threads)
    try:
        reference = _load_llama(reference_path, reference_lora, n_ctx=n_ctx, n_threads=n_threads)
        try:
            if reference.n_vocab != llama.n_vocab:
                raise ReportxError(f"{model_path} and {reference_path} have different vocabularies")
            prompts = [llama.tokenize(p, bos=True) for p in prompts_text]
            examples = _compare(
                reports, prompts, llama, max_tokens,
                reference=lambda prompt: llama_generate(reference, prompt, max_tokens),
                reference_margin=functools.partial(llama_margin, reference),
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


def _trained_run(run_dir: str | Path) -> tuple[Path, Path, RunCard]:
    adapter_dir, found_run_dir, card = locate_adapter(run_dir)
    if card is None or found_run_dir is None:
        raise ReportxError(f"{run_dir} is not a training run (the check needs its run_card.json)")
    return adapter_dir, found_run_dir, card


def _existing(path: str | Path, what: str) -> Path:
    path = Path(path)
    if not path.is_file():
        raise ReportxError(f"{what} not found: {path}")
    return path


def _val_prompts(
    card: RunCard, run_dir: Path, n: int, val_file: str | Path | None
) -> tuple[list[Any], list[str]]:
    """The first ``n`` labelled validation reports of the run and their fine-tuned prompts (the run's schema)."""
    from reportx.labelled import read_labelled
    from reportx.prompts import finetuned_prompt
    from reportx.schema import load_schema

    val_path = val_file or card.data.val_file
    if not val_path:
        raise ReportxError("the run has no validation file to check on; pass one (val_file)")
    schema = load_schema(card.schema_spec)
    reports = read_labelled(Path(val_file) if val_file else resolve_val_file(val_path, run_dir), schema, limit=n)
    return reports, [finetuned_prompt(r.text, schema) for r in reports]


def _rough_ctx(prompts_text: list[str], max_tokens: int) -> int:
    # a prompt has at most one token per UTF-8 byte (+ BOS): enough context without tokenising twice
    return max(len(p.encode("utf-8")) for p in prompts_text) + max_tokens + 16


def _compare(
    reports: list[Any],
    prompts: list[list[int]],
    llama: LlamaModel,
    max_tokens: int,
    *,
    reference: Callable[[list[int]], tuple[list[int], int | None]],
    reference_margin: Callable[[list[int], list[int], int, int], float],
) -> list[ExampleCheck]:
    """Greedy answers of ``llama`` and of the reference on each prompt, compared token for token."""
    examples: list[ExampleCheck] = []
    for report, prompt in zip(reports, prompts, strict=True):
        gguf_tokens, gguf_stop = llama_generate(llama, prompt, max_tokens)
        ref_tokens, ref_stop = reference(prompt)
        first = next((i for i, (a, b) in enumerate(zip(ref_tokens, gguf_tokens, strict=False)) if a != b), None)
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
                torch_text=_text(llama, ref_tokens),
                gguf_text=_text(llama, gguf_tokens),
                torch_tokens=ref_tokens,
                gguf_tokens=gguf_tokens,
                first_difference=first,
                torch_margin=margin,
            )
        )
    return examples


def _text(llama: LlamaModel, tokens: list[int]) -> str:
    return llama.detokenize(tokens).decode("utf-8", errors="replace")


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
