"""The run card: what a training run used and produced, as JSON (for tools) and markdown (for people).

:class:`RunCard` is the one description of ``run_card.json`` that train writes and export / extract read, and
:func:`load_run_card` the one way to read it. Every field may be absent, so that cards written by earlier versions,
cards people wrote by hand (a base model and a validation file are enough for export) and the bundled adapter's
card all load; keys this version does not know are kept, and a card is written back with the keys it was given.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from reportx.errors import ReportxError

#: the file a training run directory is recognised by
RUN_CARD_FILE = "run_card.json"
#: the markdown twin written beside it, for people
RUN_CARD_MARKDOWN = "run_card.md"
#: ``reportx_run``: the card format's version
RUN_CARD_VERSION = 1
#: where train saves the PEFT adapter, relative to the run directory
ADAPTER_DIR = "adapter"


class _CardPart(BaseModel):
    # extra="allow": a key a later version adds survives a load and a write by this one
    model_config = ConfigDict(extra="allow")


class CardBase(_CardPart):
    """``base_model``: where the base came from (:class:`reportx.train.base_model.BaseModelInfo` as recorded)."""

    source: str | None = None  # what the user gave ("default", a path, a hub id)
    kind: str | None = None  # "gguf" | "hf" | "hub"
    path: str | None = None  # absolute .gguf file or HF directory, or the hub id
    sha256: str | None = None
    architecture: str | None = None  # llama.cpp's name (gemma3, llama, qwen2)


class CardData(_CardPart):
    """``data``: the labelled files and how many of their examples the run used."""

    train_file: str | None = None
    val_file: str | None = None
    train_examples: int | None = None
    skipped_too_long: int | None = None
    eval_examples: int | None = None
    seed: int | None = None


class CardBackend(_CardPart):
    """``backend``: which training backend ran, and why."""

    name: str | None = None
    reason: str | None = None
    cuda: bool | None = None
    load_in_4bit: bool | None = None
    bf16_head_backward: bool | None = None


class CardEnvironment(_CardPart):
    """``environment``: the machine and library versions."""

    python: str | None = None
    torch: str | None = None
    threads: int | None = None
    cpu_count: int | None = None
    device: str | None = None


class LossPoint(_CardPart):
    """One logged loss."""

    step: int
    loss: float


class CardResult(_CardPart):
    """``result``: what training produced."""

    optimizer_steps: int | None = None
    epochs: float | None = None
    wall_seconds: float | None = None
    train_loss: list[LossPoint] = Field(default_factory=list)
    eval_loss: list[LossPoint] = Field(default_factory=list)
    final_eval_loss: float | None = None
    resumed: bool | None = None


class RunCard(_CardPart):
    """A training run's card (``RUN_DIR/run_card.json``): the link between train, export and extract."""

    reportx_run: int = RUN_CARD_VERSION
    base_model: CardBase = Field(default_factory=CardBase)
    # named schema_spec only to avoid BaseModel.schema; written as "schema" (a schema file, or null: built-in)
    schema_spec: str | None = Field(None, alias="schema")
    prompt: str | None = None  # the prompt function the adapter was trained with
    data: CardData = Field(default_factory=CardData)
    backend: CardBackend = Field(default_factory=CardBackend)
    config: dict[str, Any] = Field(default_factory=dict)  # TrainConfig.to_dict() of the run
    environment: CardEnvironment = Field(default_factory=CardEnvironment)
    result: CardResult = Field(default_factory=CardResult)
    adapter_dir: str | None = None  # the PEFT adapter, relative to the run directory
    metrics: dict[str, Any] = Field(default_factory=dict)  # figures a later step adds (shown in the markdown)

    def to_dict(self) -> dict[str, Any]:
        """The card as JSON values, with the keys it was built or loaded with (none added)."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)

    @property
    def answer(self) -> str:
        """What the adapter answers: "quotes" or "values" (cards from before quote answers: values)."""
        return str(self.config.get("answer") or "values")

    def adapter_path(self, run_dir: str | Path) -> Path:
        """The run's PEFT adapter directory (``adapter/`` unless the card says otherwise)."""
        return Path(run_dir) / (self.adapter_dir or ADAPTER_DIR)

    def base_gguf(self, override: str | Path | None = None) -> Path:
        """The base GGUF llama.cpp loads for this run: ``override`` when given (it must exist), else the card's base
        when that is a GGUF file, the embedded default model when the run used it; the file's sha256 is checked
        against the card's. Raises ``ReportxError`` for a Hugging Face base (pass a GGUF) or a base that is gone."""
        if override is not None:
            path = Path(override)
            if not path.is_file():
                raise ReportxError(f"base GGUF not found: {path}")
            return path
        base = self.base_model
        if base.kind != "gguf":
            raise ReportxError(
                f"the run's base model is {base.kind!r} ({base.source}), not a GGUF file: pass the base GGUF "
                "for llama.cpp to check against (--base PATH.gguf)"
            )
        path = Path(base.path or "")
        if not path.is_file():
            if base.source in ("default", "", None):
                # the default model's cache path differs between machines (the bundled card's is the trainer's)
                from reportx.models import default_base_model

                path = default_base_model()
            else:
                raise ReportxError(f"the run's base GGUF is gone: {path}")
        if base.sha256:
            from reportx.models import sha256_file

            if sha256_file(path) != base.sha256:
                raise ReportxError(f"{path} is not the base the adapter was trained on (sha256 differs from the run card)")
        return path

    def write(self, run_dir: str | Path) -> None:
        """Write ``run_card.json`` and ``run_card.md`` into ``run_dir``."""
        run_dir = Path(run_dir)
        text = json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"
        (run_dir / RUN_CARD_FILE).write_text(text, encoding="utf-8")
        (run_dir / RUN_CARD_MARKDOWN).write_text(self.markdown(), encoding="utf-8")

    def markdown(self) -> str:
        """The card for people: a table of the figures, the config, the eval losses."""
        base, data, result, backend = self.base_model, self.data, self.result, self.backend
        losses = result.train_loss
        head = "; output head's backward in bfloat16 (AMX)" if backend.bf16_head_backward else ""
        minutes = f"{result.wall_seconds / 60:.1f} min" if result.wall_seconds is not None else "-"
        epochs = f" ({result.epochs:.2f} epochs)" if result.epochs is not None else ""
        final = f"{result.final_eval_loss:.4f}" if result.final_eval_loss is not None else "-"
        lines = [
            "# reportx run card",
            "",
            "| | |",
            "|---|---|",
            f"| base model | `{base.source}` ({base.kind}, {base.architecture}) |",
            f"| base sha256 | `{base.sha256}` |",
            f"| backend | {backend.name}: {backend.reason}{head} |",
            f"| device | {self.environment.device}, {self.environment.threads} threads |",
            f"| train data | `{data.train_file}` ({data.train_examples} examples, {data.skipped_too_long} skipped as "
            "too long) |",
            f"| val data | `{data.val_file}` ({data.eval_examples} examples for eval loss) |",
            f"| seed | {data.seed} |",
            f"| optimizer steps | {result.optimizer_steps}{epochs} |",
            f"| wall time | {minutes} |",
            f"| first / last train loss | {losses[0].loss:.4f} / {losses[-1].loss:.4f} |" if losses else "| train loss | - |",
            f"| final eval loss | {final} |",
        ]
        lines += [f"| {name} | {value} |" for name, value in self.metrics.items()]
        lines += ["", "## Config", "", "```yaml"]
        lines += [f"{k}: {json.dumps(v, ensure_ascii=False)}" for k, v in self.config.items()]
        lines += ["```", ""]
        if result.eval_loss:
            lines += ["## Eval loss", "", "| step | loss |", "|---|---|"]
            lines += [f"| {e.step} | {e.loss:.4f} |" for e in result.eval_loss]
            lines.append("")
        return "\n".join(lines)


def is_run_dir(path: str | Path) -> bool:
    """Whether ``path`` is a directory with a run card (a training run, or the bundled adapter's directory)."""
    return (Path(path) / RUN_CARD_FILE).is_file()


def load_run_card(path: str | Path) -> RunCard:
    """The run card of a run directory (or the ``run_card.json`` file itself); ``ReportxError`` when there is none
    or it is not a run card."""
    path = Path(path)
    file = path if path.suffix == ".json" else path / RUN_CARD_FILE
    if not file.is_file():
        raise ReportxError(f"{path} is not a training run (no {RUN_CARD_FILE})")
    try:
        raw = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReportxError(f"cannot read {file}: {exc}") from None
    if not isinstance(raw, dict):
        raise ReportxError(f"{file} is not a run card (expected a JSON object)")
    try:
        return RunCard.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ReportxError(f"{file} is not a run card: {where}: {first['msg']}") from None
