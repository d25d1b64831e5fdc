"""``ExtractConfig``: how to extract (model, adapter, mode, decoding), declared and validated once.

The CLI (``reportx extract``), the batch runner, :class:`~reportx.extract.Extractor`, ``reportx eval``'s systems and
the Ray actors all take this one object, so a new option is added here and nowhere else, and a bad value is
refused the same way everywhere: one :class:`~reportx.errors.ReportxError` naming the option.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from reportx.errors import ReportxError

Mode = Literal["fewshot", "finetuned"]
PromptFormat = Literal["auto", "completion", "chat"]
Retry = Literal["constrained", "none"]

#: Upper bound of ``--threads``. llama.cpp aborts the whole process (and prints a gdb backtrace on stdout, the
#: data stream) above ggml's GGML_MAX_N_THREADS, 512; 256 stays well below it and far above any useful count
#: (past the machine's CPUs more threads only slow decoding down). A fixed bound, not one derived from this
#: machine's CPUs, so that a command line valid on one machine is valid on another.
MAX_THREADS = 256
#: Upper bound of ``--batch``: past a few dozen reports in flight a step only grows (docs/extraction-speed.md).
MAX_BATCH = 256
#: Upper bound of ``--workers``, fixed like MAX_THREADS (each worker loads its own model: past a few per CPU they
#: only share the same cores); :func:`reportx.extract.workers.check_workers` also refuses more than 4 per CPU here.
MAX_WORKERS = 64
#: Reports decoded at once by default: measured fastest of 1, 16 and 32 on 64 reports (docs/extraction-speed.md).
DEFAULT_BATCH = 16

#: Each option's error message, as the CLI names it.
_MESSAGES = {
    "mode": "--mode must be one of fewshot, finetuned, got {!r}",
    "retry": "retry must be constrained or none, got {!r}",
    "shots": "--shots must be 0 or more, got {}",
    "n_ctx": "--n-ctx must be at least 256, got {}",
    "threads": f"--threads must be between 1 and {MAX_THREADS}, got {{}}",
    "max_tokens": "max_tokens must be at least 16, got {}",
    "prompt_format": "prompt format must be one of auto, completion, chat, got {!r}",
    "batch": f"--batch must be between 1 and {MAX_BATCH}, got {{}}",
    "workers": f"--workers must be between 1 and {MAX_WORKERS}, got {{}}",
}


class ExtractConfig(BaseModel):
    """What an extraction runs with.

    Attributes:
        model: base GGUF path; None for the embedded default model.
        adapter: GGUF LoRA adapter; None for the bundled one in finetuned mode.
        mode: fewshot (base model + worked examples) or finetuned (adapter + short prompt); None picks finetuned
            when an adapter is given or bundled.
        merged: the model has its adapter merged in (``reportx export --merge``): finetuned, no adapter.
        constrained: constrain decoding by the schema from the first attempt.
        retry: what an invalid free answer gets: one constrained retry (default), or none (it is an error).
        shots: worked examples in the few-shot prompt.
        schema_spec: the schema as ``--schema`` takes it (None: the built-in record).
        n_ctx, threads, seed: llama.cpp context size, threads (None: half the CPUs one report at a time, every CPU
            batched; see :func:`reportx.extract.engine.default_threads`), seed.
        max_tokens: the most tokens an answer may take.
        prompt_format: few-shot prompt as plain completion, with the model's chat template, or auto.
        batch: reports decoded at once (:mod:`reportx.extract.batched`; default 16); 1 is sequential extraction.
            The records are the same either way (llama.cpp runs batch-invariant, :mod:`reportx.llamacpp`).
        workers: worker processes extracting at once (:mod:`reportx.extract.workers`), each loading its own model;
            ``threads`` is then per worker (None: the CPUs divided by the workers). 1: this process. None
            (default): one process while the reports fit in one batch, else one single-threaded worker per CPU
            within memory (:func:`reportx.extract.workers.auto_workers`).
        full_head: compute every token's logits in llama.cpp. By default a fine-tuned model that answers quotes
            and has no run-time adapter (the default merged model) splits its output head: llama.cpp evaluates the
            body, numpy the logits of the tokens a quote answer can be made of (:mod:`reportx.extract.head`).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str | None = None
    adapter: str | None = None
    mode: Mode | None = None
    merged: bool = False
    constrained: bool = False
    retry: Retry = "constrained"
    shots: int = Field(default=3, ge=0)
    schema_spec: str | None = None
    n_ctx: int = Field(default=4096, ge=256)
    threads: int | None = Field(default=None, ge=1, le=MAX_THREADS)
    seed: int = 0
    max_tokens: int = Field(default=256, ge=16)
    prompt_format: PromptFormat = "auto"
    batch: int = Field(default=DEFAULT_BATCH, ge=1, le=MAX_BATCH)
    review_below: float | None = Field(default=None, ge=0.0, le=1.0)
    workers: int | None = Field(default=None, ge=1, le=MAX_WORKERS)
    full_head: bool = False

    @classmethod
    def make(cls, **values: Any) -> ExtractConfig:
        """Build and validate; a bad value raises one :class:`ReportxError` line naming the option."""
        try:
            return cls(**values)
        except ValidationError as exc:
            error = exc.errors()[0]
            name = str(error["loc"][0]) if error["loc"] else ""
            if error["type"] == "extra_forbidden":
                raise ReportxError(f"{name} is not an extraction option") from None
            message = _MESSAGES.get(name, f"{name}: {error['msg']}, got {{!r}}")
            raise ReportxError(message.format(values.get(name))) from None
