"""The LoRA fine-tuning recipe, in explicit steps: data -> base model -> LoRA -> SFT (loss on the JSON answer
only) -> adapter + run card.

One recipe, two ways to load the model: Unsloth's ``FastLanguageModel`` (4-bit QLoRA) on a CUDA machine with
unsloth installed, otherwise transformers + PEFT. Both are trained by TRL's ``SFTTrainer`` on prompt/completion
pairs, whose completion-only loss never trains on the prompt. TRL's fused LM head projects only the answer
positions onto the 262k-token vocabulary, which matters on a CPU: the vocabulary projection is most of the
default model's compute.
"""

from __future__ import annotations

import logging
import os
import platform
import re
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reportx.errors import ReportxError
from reportx.labelled import LabelledReport, read_labelled
from reportx.prompts import finetuned_prompt
from reportx.schema import ReportSchema, load_schema
from reportx.schema.foreign import record_keys, without_machine_text
from reportx.train.backend import BackendChoice, select_backend
from reportx.train.base_model import BaseModelInfo, load_hf_model, resolve_base
from reportx.train.config import TrainConfig
from reportx.train.runcard import (
    ADAPTER_DIR,
    RUN_CARD_MARKDOWN,
    RUN_CARD_VERSION,
    CardBackend,
    CardBase,
    CardData,
    CardEnvironment,
    CardResult,
    LossPoint,
    RunCard,
    is_run_dir,
)

log = logging.getLogger("reportx.train")


@dataclass
class TrainResult:
    """What a finished run left behind."""

    output_dir: Path
    adapter_dir: Path
    run_card: RunCard


def _say(message: str) -> None:
    print(f"reportx train: {message}", file=sys.stderr, flush=True)


def prompt_completion(report: LabelledReport, schema: ReportSchema, answer: str = "values") -> dict[str, str]:
    """One training pair in TRL's prompt/completion form; TRL appends the EOS token to the completion.
    ``answer``: "values" (the gold record) or "quotes" (its quote form: the model quotes, the code normalises)."""
    # The model is trained on what it will read: the extractor cuts text addressed to a machine out of the
    # prompt (reportx.schema.foreign), and so does training. Clean reports have none, so their prompts are as read.
    prompt = finetuned_prompt(without_machine_text(report.text, record_keys(schema.json_schema)), schema)
    if answer == "quotes":
        if report.quotes is None:
            raise ValueError(f"report {report.id} has no quote form")
        return {"prompt": prompt, "completion": schema.dumps(report.quotes)}
    return {"prompt": prompt, "completion": schema.dumps(report.gold)}


def _answerable(reports: list[LabelledReport], answer: str, what: str) -> list[LabelledReport]:
    """The reports that have the answer form to train on; quote training skips those without one (counted)."""
    if answer != "quotes":
        return reports
    kept = [r for r in reports if r.quotes is not None]
    if reports and not kept:
        raise ReportxError(f"{what} has no quote answers ('quotes' on each line, as reportx synth writes them): "
                           "re-run reportx synth, or set answer: values")
    if len(kept) < len(reports):
        _say(f"{what}: {len(reports) - len(kept)} reports without a quote form skipped")
    return kept


def _fits(pairs: list[dict[str, str]], tokenizer: Any, max_length: int) -> tuple[list[dict[str, str]], int]:
    # Skip, never truncate: a truncated answer would teach the model to stop mid-JSON.
    kept = [p for p in pairs if len(tokenizer(p["prompt"] + p["completion"]).input_ids) + 1 <= max_length]
    return kept, len(pairs) - len(kept)


def _load_for_backend(base: BaseModelInfo, choice: BackendChoice, config: TrainConfig):
    """The base model and tokenizer, loaded the way the backend wants them."""
    if choice.name == "unsloth":
        from unsloth import FastLanguageModel  # imported first: it patches transformers

        location = base.path
        if base.kind == "gguf":
            # Unsloth loads Hugging Face weights; a GGUF base goes through transformers' de-quantisation first.
            location = str(Path(config.output_dir) / "base-hf")
            if not Path(location, "config.json").is_file():
                model, tokenizer = load_hf_model(base)
                model.save_pretrained(location)
                tokenizer.save_pretrained(location)
                del model
        model, tokenizer = FastLanguageModel.from_pretrained(
            model_name=location, max_seq_length=config.max_length, load_in_4bit=choice.load_in_4bit, dtype=None
        )
        model = FastLanguageModel.get_peft_model(
            model,
            r=config.lora_r,
            lora_alpha=config.lora_alpha,
            lora_dropout=config.lora_dropout,
            target_modules=config.target_modules,
            bias="none",
            use_gradient_checkpointing="unsloth" if config.gradient_checkpointing else False,
            random_state=config.seed,
            layers_to_transform=_adapted_layers(model, config.lora_layers),
        )
        return model, tokenizer, None

    from peft import LoraConfig

    quantization = None
    dtype = None
    if choice.cuda:
        import torch

        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        if choice.load_in_4bit:
            from transformers import BitsAndBytesConfig

            quantization = BitsAndBytesConfig(
                load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=dtype, bnb_4bit_use_double_quant=True
            )
    model, tokenizer = load_hf_model(base, dtype=dtype, quantization_config=quantization)
    if quantization is not None:
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=config.gradient_checkpointing)
    lora = LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha,  # type: ignore[arg-type]  # PEFT annotates int but scales by alpha / r in floats
        lora_dropout=config.lora_dropout,
        target_modules=config.target_modules,
        layers_to_transform=_adapted_layers(model, config.lora_layers),
        bias="none",
        task_type="CAUSAL_LM",
    )
    return model, tokenizer, lora


def _adapted_layers(model: Any, last_n: int | None) -> list[int] | None:
    """Indices of the last ``last_n`` decoder layers (None: every layer), checked against the model's depth."""
    if last_n is None:
        return None
    n_layers = model.config.get_text_config().num_hidden_layers
    if last_n > n_layers:
        raise ReportxError(f"lora_layers={last_n}, but the base model has {n_layers} decoder layers")
    return list(range(n_layers - last_n, n_layers))


def _has_argument(args_class: type, name: str) -> bool:
    import dataclasses

    return any(field.name == name for field in dataclasses.fields(args_class))


def _checkpointing_arg(args_class: type, enabled: bool) -> dict[str, Any]:
    """Activation checkpointing on or off, under the name this transformers version reads: 5.x renamed
    ``gradient_checkpointing`` to ``activation_checkpointing`` and warns on the old name."""
    name = "activation_checkpointing" if _has_argument(args_class, "activation_checkpointing") else "gradient_checkpointing"
    return {name: enabled}


def _warmup_arg(args_class: type, ratio: float) -> dict[str, Any]:
    """A linear warmup over ``ratio`` of the optimizer steps (rounded up), under the argument this transformers
    version reads as a ratio. transformers 5 has a float ``warmup_steps`` that reads a value below 1 as a ratio of
    the total steps (its ``warmup_ratio`` was deprecated in 5.0, then removed); before 5 ``warmup_steps`` is an
    integer step count and the ratio is ``warmup_ratio``."""
    import dataclasses

    steps = next((f for f in dataclasses.fields(args_class) if f.name == "warmup_steps"), None)
    if steps is not None and "float" in str(getattr(steps.type, "__name__", steps.type)):
        return {"warmup_steps": ratio}
    return {"warmup_ratio": ratio}


def _sampling_arg(args_class: type, group_by_length: bool) -> dict[str, Any]:
    """Random order, or batches of similar lengths, under the name this transformers version reads."""
    if _has_argument(args_class, "train_sampling_strategy"):
        return {"train_sampling_strategy": "group_by_length" if group_by_length else "random"}
    return {"group_by_length": group_by_length}


def _keep_freed_memory() -> bool:
    """Have glibc keep freed memory for reuse instead of handing it back to the kernel.

    Every CPU step allocates and frees tensors of tens of megabytes (the answer logits alone are 262k floats a
    token); by default glibc maps each one afresh and unmaps it when freed, so the kernel zeroes new pages on every
    step. Measured during the default config's training: 86k page faults a second and 13% of the CPU time in the
    kernel; set from here (mmap off, no trimming), 320 a second and 0.3%. The cost: the process keeps its peak
    memory until it exits. Like ``MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=...`` in the environment, but set
    after start-up, so ``reportx train`` needs no wrapper. Returns whether it applied (glibc only; elsewhere nothing changes).
    """
    import ctypes
    import ctypes.util

    if platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return False
    m_trim_threshold, m_top_pad, m_mmap_max = -1, -2, -4  # <malloc.h>
    applied = [libc.mallopt(m_mmap_max, 0), libc.mallopt(m_trim_threshold, 2**31 - 1), libc.mallopt(m_top_pad, 64 << 20)]
    return all(applied)


def start_from_adapter(model: Any, path: Path, config: TrainConfig) -> int:
    """Copy an exported GGUF adapter's weights into the fresh LoRA of the PEFT ``model`` (continued fine-tuning);
    returns the number of modules set. Every LoRA module of the model must get weights and every pair of the
    file must find its module, so a rank or target mismatch is an error, never a silent partial start."""
    import torch

    from reportx.export.lora import read_lora_gguf

    text = model.get_base_model().config.get_text_config()
    weights = read_lora_gguf(path, n_head=text.num_attention_heads, n_head_kv=text.num_key_value_heads)
    found: dict[str, dict[str, Any]] = {}
    for name, param in model.named_parameters():
        match = re.search(r"layers\.(\d+)\.(.+)\.lora_([AB])\.default\.weight$", name)
        if match is not None:
            found.setdefault(f"layers.{match[1]}.{match[2]}", {})[match[3]] = param
    missing, extra = sorted(set(found) - set(weights.pairs)), sorted(set(weights.pairs) - set(found))
    if missing or extra:
        what = f"no weights for {missing[0]}" if missing else f"no LoRA module for {extra[0]}"
        raise ReportxError(f"init_adapter {path}: {what} (its target_modules / lora_layers differ from the config's)")
    scaling = config.lora_alpha / config.lora_r
    with torch.no_grad():
        for module, (a, b) in weights.pairs.items():
            lora_a, lora_b = found[module]["A"], found[module]["B"]
            if tuple(lora_a.shape) != a.shape or tuple(lora_b.shape) != b.shape:
                raise ReportxError(
                    f"init_adapter {path}: {module} has rank {a.shape[0]}, the config lora_r={config.lora_r}"
                )
            # llama.cpp scales by alpha / rank, PEFT by lora_alpha / r: fold the ratio into B.
            ratio = (weights.alpha / a.shape[0]) / scaling if weights.alpha else 1.0 / scaling
            lora_a.copy_(torch.from_numpy(a))
            lora_b.copy_(torch.from_numpy(b * ratio))
    return len(weights.pairs)


def _existing_checkpoints(output_dir: Path, resume: bool) -> list[Path]:
    """The run's checkpoints, oldest first; refuses to resume without one, or to start over an existing run."""
    checkpoints = []
    if output_dir.is_dir():
        checkpoints = sorted(output_dir.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[-1]))
    if resume and not checkpoints:
        raise ReportxError(f"--resume: no checkpoint in {output_dir}")
    if not resume and (checkpoints or is_run_dir(output_dir)):
        raise ReportxError(f"{output_dir} already holds a run: pass --resume, or choose another output_dir")
    return checkpoints


def _set_up_torch(config: TrainConfig, choice: BackendChoice) -> None:
    """Threads, allocator and seed, before the model is loaded."""
    import torch
    from transformers import set_seed

    if config.threads:
        torch.set_num_threads(config.threads)
    if not choice.cuda:
        _keep_freed_memory()
    set_seed(config.seed)


def _training_pairs(
    train_reports: list[LabelledReport], val_reports: list[LabelledReport], schema: ReportSchema, tokenizer: Any,
    max_length: int, answer: str = "values",
) -> tuple[list[dict[str, str]], list[dict[str, str]], int]:
    """Training and eval pairs that fit ``max_length``, and how many training examples were skipped."""
    train_reports = _answerable(train_reports, answer, "train_file")
    val_reports = _answerable(val_reports, answer, "val_file")
    train_pairs, skipped = _fits([prompt_completion(r, schema, answer) for r in train_reports], tokenizer, max_length)
    val_pairs, _ = _fits([prompt_completion(r, schema, answer) for r in val_reports], tokenizer, max_length)
    if skipped:
        _say(f"skipped {skipped} training examples longer than max_length={max_length}")
    if not train_pairs:
        raise ReportxError("no training example fits max_length")
    _say(f"{len(train_pairs)} training pairs, {len(val_pairs)} eval pairs")
    return train_pairs, val_pairs, skipped


def train(config: TrainConfig, *, resume: bool = False, show_progress: bool | None = None) -> TrainResult:
    """Fine-tune a LoRA adapter as ``config`` describes; write the adapter and run card into ``config.output_dir``."""
    started = time.time()
    # Nothing leaves the machine: no usage telemetry from the hub client (a hub id still loads when online).
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    output_dir = Path(config.output_dir)
    checkpoints = _existing_checkpoints(output_dir, resume)

    # 1. data
    schema = load_schema(config.schema)
    train_reports = read_labelled(config.train_file, schema, limit=config.max_train_examples)
    val_reports = read_labelled(config.val_file, schema, limit=config.max_eval_examples) if config.val_file else []

    # 2. backend and base model
    choice = select_backend(config.backend, load_in_4bit=config.load_in_4bit)
    _say(f"backend {choice.name}: {choice.reason}")
    base = resolve_base(config.base_model)
    _say(f"base model {base.source} ({base.kind}, {base.architecture}, sha256 {str(base.sha256)[:12]})")

    _set_up_torch(config, choice)
    model, tokenizer, lora_config = _load_for_backend(base, choice, config)

    # 3. prompt/completion pairs, in the one prompt format extract uses
    import datasets
    from datasets import Dataset

    datasets.disable_progress_bars()  # our own progress bar is the one to watch
    train_pairs, val_pairs, skipped = _training_pairs(train_reports, val_reports, schema, tokenizer, config.max_length,
                                                      config.answer)

    # 4. SFT with loss on the completion only (the trainer module imports TRL: only now that a run starts)
    from reportx.train.progress import LossProgress
    from reportx.train.trainer import AnswerOnlySFTTrainer

    output_dir.mkdir(parents=True, exist_ok=True)
    progress = LossProgress(enabled=sys.stderr.isatty() if show_progress is None else show_progress)
    trainer = AnswerOnlySFTTrainer(
        model=model,
        args=_sft_config(config, choice, output_dir, evaluate=bool(val_pairs)),
        train_dataset=Dataset.from_list(train_pairs),
        eval_dataset=Dataset.from_list(val_pairs) if val_pairs else None,
        processing_class=tokenizer,
        peft_config=lora_config,
        callbacks=[progress],
    )
    if config.init_adapter is not None and not resume:
        count = start_from_adapter(trainer.model, Path(config.init_adapter), config)
        _say(f"continuing from {config.init_adapter} ({count} LoRA modules)")
    from transformers.trainer_callback import PrinterCallback

    trainer.remove_callback(PrinterCallback)  # it prints raw log dicts; LossProgress reports loss instead
    adapter_dir = output_dir / ADAPTER_DIR
    with warnings.catch_warnings():
        # On every save PEFT looks for the base's config.json to check the vocabulary; a GGUF base has none, and
        # LoRA leaves the vocabulary alone.
        warnings.filterwarnings("ignore", message="Could not find a config file")
        trainer.train(resume_from_checkpoint=str(checkpoints[-1]) if resume else None)
        # 5. adapter, final eval loss and run card
        trainer.model.save_pretrained(str(adapter_dir))
    final_eval_loss = _final_eval_loss(trainer, evaluate=bool(val_pairs))
    card = _run_card(
        config, base, choice, trainer,
        data=CardData(
            train_file=str(Path(config.train_file).resolve()),
            val_file=str(Path(config.val_file).resolve()) if config.val_file else None,
            train_examples=len(train_pairs),
            skipped_too_long=skipped,
            eval_examples=len(val_pairs),
            seed=config.seed,
        ),
        final_eval_loss=final_eval_loss,
        wall_seconds=round(time.time() - started, 1),
        resumed=resume,
    )
    card.write(output_dir)
    _say(f"adapter in {adapter_dir}; run card in {output_dir / RUN_CARD_MARKDOWN} ({card.result.wall_seconds} s)")
    return TrainResult(output_dir=output_dir, adapter_dir=adapter_dir, run_card=card)


def _sft_config(config: TrainConfig, choice: BackendChoice, output_dir: Path, *, evaluate: bool) -> Any:
    """TRL's ``SFTConfig`` for the run: loss on the completion only, checkpoints, evaluation when there is val data."""
    import torch
    from trl import SFTConfig

    return SFTConfig(
        output_dir=str(output_dir),
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=1,
        gradient_accumulation_steps=config.gradient_accumulation,
        learning_rate=config.learning_rate,
        lr_scheduler_type=config.lr_scheduler,
        weight_decay=config.weight_decay,
        num_train_epochs=config.epochs,
        max_steps=config.max_steps,
        logging_steps=config.logging_every,
        eval_strategy="steps" if evaluate else "no",
        eval_steps=config.eval_every,
        save_strategy="steps",
        save_steps=config.save_every,
        save_total_limit=2,
        seed=config.seed,
        data_seed=config.seed,
        max_length=config.max_length,
        completion_only_loss=True,
        packing=False,
        **_warmup_arg(SFTConfig, config.warmup_ratio),
        **_checkpointing_arg(SFTConfig, config.gradient_checkpointing and choice.name == "hf"),
        **_sampling_arg(SFTConfig, config.group_by_length),
        use_cpu=not choice.cuda,
        bf16=choice.cuda and torch.cuda.is_bf16_supported(),
        report_to=[],
        disable_tqdm=True,
        dataloader_num_workers=0,
        dataloader_pin_memory=choice.cuda,
        dataset_num_proc=None,
    )


def _final_eval_loss(trainer: Any, *, evaluate: bool) -> float | None:
    """The eval loss at the last step: the trainer evaluates there by itself; evaluate again only when it did not."""
    evals = [h for h in trainer.state.log_history if "eval_loss" in h]
    if evals and evals[-1]["step"] == trainer.state.global_step:
        return evals[-1]["eval_loss"]
    return trainer.evaluate().get("eval_loss") if evaluate else None


def _run_card(
    config: TrainConfig,
    base: BaseModelInfo,
    choice: BackendChoice,
    trainer: Any,
    *,
    data: CardData,
    final_eval_loss: float | None,
    wall_seconds: float,
    resumed: bool,
) -> RunCard:
    """The card of a finished run: what it used (base, data, backend, config, machine) and what it produced."""
    import torch

    history = trainer.state.log_history
    return RunCard(
        reportx_run=RUN_CARD_VERSION,
        base_model=CardBase(**base.to_dict()),
        schema=config.schema,
        prompt="reportx.prompts.finetuned_prompt",
        data=data,
        backend=CardBackend(
            name=choice.name, reason=choice.reason, cuda=choice.cuda, load_in_4bit=choice.load_in_4bit,
            bf16_head_backward=bool(trainer.bf16_head_backward),
        ),
        config=config.to_dict(),
        environment=CardEnvironment(
            python=platform.python_version(),
            torch=torch.__version__,
            threads=torch.get_num_threads(),
            cpu_count=os.cpu_count(),
            device=torch.cuda.get_device_name(0) if choice.cuda else platform.processor() or platform.machine(),
        ),
        result=CardResult(
            optimizer_steps=trainer.state.global_step,
            epochs=trainer.state.epoch,
            wall_seconds=wall_seconds,
            train_loss=[LossPoint(step=h["step"], loss=h["loss"]) for h in history if "loss" in h],
            eval_loss=[LossPoint(step=h["step"], loss=h["eval_loss"]) for h in history if "eval_loss" in h],
            final_eval_loss=final_eval_loss,
            resumed=resumed,
        ),
        adapter_dir=ADAPTER_DIR,
    )
