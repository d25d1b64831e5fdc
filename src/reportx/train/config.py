"""A training run is described by one YAML file, read into ``TrainConfig``; the CLI overrides keys with
``--set key=value`` (values parsed as YAML, so ``--set learning_rate=1e-4 --set target_modules=[q_proj,v_proj]``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from reportx.errors import ReportxError

#: Every linear layer of a llama-style decoder block; llama.cpp applies a LoRA on each of them.
ALL_LINEAR = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


class TrainConfig(BaseModel):
    """Everything that defines a LoRA fine-tuning run. ``configs/default.yaml`` holds the values the bundled
    adapter of the default model was trained with (README: Training time on 2 CPU cores)."""

    model_config = ConfigDict(extra="forbid")

    # what to train
    base_model: str = Field(
        "default",
        description='"default" (the embedded Gemma 3 270M GGUF), a .gguf file, a local Hugging Face model '
        "directory, or a hub id (needs a network).",
    )
    schema_spec: str | None = Field(None, alias="schema", description="Report schema (default: built-in).")
    train_file: Path = Field(Path("data/train.jsonl"), description="Labelled JSONL: synth output or your own.")
    val_file: Path | None = Field(Path("data/val.jsonl"), description="Labelled JSONL for eval loss; null for none.")
    max_train_examples: int | None = Field(None, gt=0, description="Use only the first N training examples.")
    max_eval_examples: int = Field(48, gt=0, description="Eval loss on the first N val examples (it is slow on CPU).")
    output_dir: Path = Field(Path("runs/default"), description="Run directory: checkpoints, adapter, run card.")

    answer: Literal["quotes", "values"] = Field(
        "values",
        description='What the model learns to answer: "quotes" (the text of the report that states each field, '
        "normalised by the schema's types; needs training lines with a 'quotes' form, as reportx synth writes) or "
        '"values" (the normalised record itself).',
    )
    init_adapter: Path | None = Field(
        None,
        description="Continue from this adapter instead of a fresh LoRA: a GGUF LoRA from reportx export (the "
        "bundled adapter included). Its rank, target_modules and lora_layers must be the config's.",
    )

    # how
    backend: Literal["auto", "unsloth", "hf"] = "auto"
    load_in_4bit: bool | None = Field(None, description="QLoRA 4-bit base; default: on with CUDA, off on CPU.")
    lora_r: int = Field(16, gt=0)
    lora_alpha: float = Field(32, gt=0)
    lora_dropout: float = Field(0.0, ge=0, lt=1)
    target_modules: list[str] = Field(default_factory=lambda: list(ALL_LINEAR))
    lora_layers: int | None = Field(
        None,
        gt=0,
        description="LoRA on the last N decoder layers only (default: all). Backpropagation stops at the lowest "
        "adapted layer, so each step skips the backward pass of the layers below it.",
    )
    learning_rate: float = Field(4e-4, gt=0)
    lr_scheduler: str = "cosine"
    warmup_ratio: float = Field(0.05, ge=0, lt=1)
    weight_decay: float = Field(0.0, ge=0)
    epochs: float = Field(1.0, gt=0)
    max_steps: int = Field(-1, description="Optimizer steps; > 0 overrides epochs.")
    batch_size: int = Field(1, gt=0, description="Examples per device step, padded to the longest of them.")
    group_by_length: bool = Field(
        False, description="Batch examples of similar length together (less padding when batch_size > 1)."
    )
    gradient_accumulation: int = Field(8, gt=0)
    max_length: int = Field(512, gt=16, description="Longer examples are skipped, never truncated.")
    gradient_checkpointing: bool = False
    eval_every: int = Field(50, gt=0, description="Optimizer steps between eval-loss measurements.")
    save_every: int = Field(50, gt=0, description="Optimizer steps between checkpoints.")
    logging_every: int = Field(5, gt=0)
    seed: int = 0
    threads: int | None = Field(None, gt=0, description="CPU threads (default: all cores).")

    @model_validator(mode="after")
    def _check(self) -> TrainConfig:
        if not self.target_modules:
            raise ValueError("target_modules must name at least one module")
        return self

    @property
    def schema(self) -> str | None:  # type: ignore[override]  # the field is named schema_spec only to avoid BaseModel.schema
        return self.schema_spec

    def to_dict(self) -> dict[str, Any]:
        """The config as plain JSON-able values, keys as written in YAML."""
        return self.model_dump(mode="json", by_alias=True)


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    """``["lora_r=8", "target_modules=[q_proj, v_proj]"]`` -> ``{"lora_r": 8, "target_modules": [...]}``."""
    values: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise ReportxError(f"--set expects key=value, got {pair!r}")
        try:
            values[key.strip()] = yaml.safe_load(raw) if raw.strip() else None
        except yaml.YAMLError:
            values[key.strip()] = raw
    return values


def load_config(path: Path | None, overrides: list[str] | None = None) -> TrainConfig:
    """Read a YAML config (or only defaults when ``path`` is None), apply ``key=value`` overrides, validate.

    Relative paths are relative to the working directory, as on the command line.
    """
    data: dict[str, Any] = {}
    if path is not None:
        if not path.is_file():
            raise ReportxError(f"config file not found: {path}")
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise ReportxError(f"config {path} is not valid YAML: {exc}") from None
        if loaded is not None and not isinstance(loaded, dict):
            raise ReportxError(f"config {path} must be a mapping of keys to values")
        data = loaded or {}
    data.update(parse_overrides(overrides or []))
    try:
        return TrainConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "config"
        raise ReportxError(f"config: {where}: {first['msg']}") from None
