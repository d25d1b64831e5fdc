"""The LoRA fine-tuning recipe, in explicit steps: data -> base model -> LoRA -> SFT (loss on the JSON answer
only) -> adapter + run card.

One recipe, two ways to load the model: Unsloth's ``FastLanguageModel`` (4-bit QLoRA) on a CUDA machine with
unsloth installed, otherwise transformers + PEFT. Both are trained by TRL's ``SFTTrainer`` on prompt/completion
pairs, whose completion-only loss never trains on the prompt. TRL's fused LM head projects only the answer
positions onto the 262k-token vocabulary, which matters on a CPU: the vocabulary projection is most of the
default model's compute.
"""

from __future__ import annotations

import json
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
from reportx.train.backend import BackendChoice, select_backend
from reportx.train.base_model import BaseModelInfo, load_hf_model, resolve_base
from reportx.train.config import TrainConfig
from reportx.train.runcard import write_run_card

log = logging.getLogger("reportx.train")


@dataclass
class TrainResult:
    """What a finished run left behind."""

    output_dir: Path
    adapter_dir: Path
    run_card: dict[str, Any]


def _say(message: str) -> None:
    print(f"reportx train: {message}", file=sys.stderr, flush=True)


def prompt_completion(report: LabelledReport, schema: ReportSchema) -> dict[str, str]:
    """One training pair in TRL's prompt/completion form; TRL appends the EOS token to the completion."""
    return {"prompt": finetuned_prompt(report.text, schema), "completion": schema.dumps(report.gold)}


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
        lora_alpha=config.lora_alpha,
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


def _answer_only_trainer_class(sft_trainer: type) -> type:
    """SFTTrainer whose loss projects only the answer positions onto the vocabulary.

    The loss is TRL's completion-only loss (mean cross-entropy over answer tokens), computed through
    ``logits_to_keep`` so that the model's own head (soft-capping included) runs on the answer positions alone.
    Measured on the default model, one 250-token example on one CPU thread: 2.5 s a step this way, 6.5 s with
    TRL 1.16's tiled fused head, which on a CPU spends most of its time on per-tile entropy and recomputation.

    ``logits_to_keep`` keeps the same positions in every row, so with a batch of several examples it keeps the union
    of their answer positions; the output projection's forward is wrapped for the call so that it projects each
    row's own answer positions only. Without it the head (262k x 640 on the default model, a third of a step) ran on up to twice the tokens.

    On a CPU with AMX the head's backward pass (the gradient reaching the hidden states through the frozen
    embedding matrix) runs in bfloat16: 43 ms instead of 136 ms for 100 answer tokens on the default model. The
    forward pass stays float32, since the loss of a well-learnt token depends on exact logits.
    """
    import torch
    import torch.nn.functional as F

    class FrozenHeadProjection(torch.autograd.Function):
        """``hidden @ weight.T`` for a frozen float32 weight, whose backward multiplies in bfloat16."""

        @staticmethod
        def forward(ctx, hidden, weight, weight_bf16):
            ctx.save_for_backward(weight_bf16)
            return hidden @ weight.T

        @staticmethod
        def backward(ctx, grad):
            (weight_bf16,) = ctx.saved_tensors
            return (grad.to(torch.bfloat16) @ weight_bf16).to(grad.dtype), None, None

    class AnswerOnlySFTTrainer(sft_trainer):
        loss_is_scaled_for_ga = True  # compute_loss divides by the answer tokens of the whole accumulated batch

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            labels = inputs["labels"]
            targets = labels[:, 1:]
            answer = targets != -100
            # positions whose next token is part of an answer, in any row of the batch
            keep = answer.any(dim=0).nonzero().squeeze(-1)
            answer_in_kept = answer[:, keep]  # [rows, kept positions]: which kept positions are this row's answer

            head = model.get_output_embeddings()
            if head is not None:
                own_forward, weight_bf16 = head.forward, self._bf16_head_weight(head)

                def answers_only(hidden):
                    rows = hidden[answer_in_kept].unsqueeze(0)
                    if weight_bf16 is None:
                        return own_forward(rows)
                    return FrozenHeadProjection.apply(rows, head.weight, weight_bf16)

                head.forward = answers_only
            try:
                outputs = model(
                    input_ids=inputs["input_ids"],
                    attention_mask=inputs.get("attention_mask"),
                    logits_to_keep=keep,
                    use_cache=False,
                )
            finally:
                if head is not None:
                    del head.forward  # back to the module's own forward
            logits = outputs.logits.float()
            # [1, answer tokens, vocab] through the wrapper; [rows, kept, vocab] where a backend bypasses the module
            logits = logits[0] if logits.shape[:2] != answer_in_kept.shape else logits[answer_in_kept]
            kept_targets = targets[:, keep][answer_in_kept]
            loss = F.cross_entropy(logits, kept_targets, reduction="sum")
            if num_items_in_batch is not None:
                count = num_items_in_batch
            else:  # eval, or a trainer that does not count: this batch's tokens, times the accumulation steps
                steps = self.current_gradient_accumulation_steps if self.model.training else 1
                count = kept_targets.numel() * steps
            loss = loss / torch.as_tensor(count, device=loss.device).clamp(min=1)
            return (loss, outputs) if return_outputs else loss

        bf16_head_backward: bool | None = None  # None: on where the CPU has AMX (decided on first use)
        _head_bf16 = None

        def _bf16_head_weight(self, head):
            """The head's weight in bfloat16 for the backward pass, or None where that does not pay off."""
            if self.bf16_head_backward is None:
                amx = getattr(torch.cpu, "_is_amx_tile_supported", lambda: False)()
                self.bf16_head_backward = bool(amx)
            usable = (
                self.bf16_head_backward and isinstance(head, torch.nn.Linear) and head.bias is None
                and not head.weight.requires_grad and head.weight.dtype == torch.float32 and head.weight.device.type == "cpu"
            )
            if not usable:
                return None
            if self._head_bf16 is None or self._head_bf16.shape != head.weight.shape:
                self._head_bf16 = head.weight.detach().to(torch.bfloat16)
            return self._head_bf16

    return AnswerOnlySFTTrainer


def _has_argument(args_class: type, name: str) -> bool:
    import dataclasses

    return any(field.name == name for field in dataclasses.fields(args_class))


def _checkpointing_arg(args_class: type, enabled: bool) -> dict[str, bool]:
    """Activation checkpointing on or off, under the name this transformers version reads: 5.x renamed
    ``gradient_checkpointing`` to ``activation_checkpointing`` and warns on the old name."""
    name = "activation_checkpointing" if _has_argument(args_class, "activation_checkpointing") else "gradient_checkpointing"
    return {name: enabled}


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


def _existing_checkpoints(output_dir: Path) -> list[Path]:
    return sorted(output_dir.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[-1]))


def train(config: TrainConfig, *, resume: bool = False, show_progress: bool | None = None) -> TrainResult:
    """Fine-tune a LoRA adapter as ``config`` describes; write the adapter and run card into ``config.output_dir``."""
    started = time.time()
    # Nothing leaves the machine: no usage telemetry from the hub client (a hub id still loads when online).
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    output_dir = Path(config.output_dir)
    checkpoints = _existing_checkpoints(output_dir) if output_dir.is_dir() else []
    if resume and not checkpoints:
        raise ReportxError(f"--resume: no checkpoint in {output_dir}")
    if not resume and (checkpoints or (output_dir / "run_card.json").exists()):
        raise ReportxError(f"{output_dir} already holds a run: pass --resume, or choose another output_dir")

    # 1. data
    schema = load_schema(config.schema)
    train_reports = read_labelled(config.train_file, schema, limit=config.max_train_examples)
    val_reports = read_labelled(config.val_file, schema, limit=config.max_eval_examples) if config.val_file else []

    # 2. backend and base model
    choice = select_backend(config.backend, load_in_4bit=config.load_in_4bit)
    _say(f"backend {choice.name}: {choice.reason}")
    base = resolve_base(config.base_model)
    _say(f"base model {base.source} ({base.kind}, {base.architecture}, sha256 {str(base.sha256)[:12]})")

    import torch

    if config.threads:
        torch.set_num_threads(config.threads)
    if not choice.cuda:
        _keep_freed_memory()
    from transformers import set_seed

    set_seed(config.seed)
    model, tokenizer, lora_config = _load_for_backend(base, choice, config)

    # 3. prompt/completion pairs, in the one prompt format extract uses
    import datasets
    from datasets import Dataset

    datasets.disable_progress_bars()  # our own progress bar is the one to watch

    train_pairs, skipped = _fits([prompt_completion(r, schema) for r in train_reports], tokenizer, config.max_length)
    val_pairs, _ = _fits([prompt_completion(r, schema) for r in val_reports], tokenizer, config.max_length)
    if skipped:
        _say(f"skipped {skipped} training examples longer than max_length={config.max_length}")
    if not train_pairs:
        raise ReportxError("no training example fits max_length")
    _say(f"{len(train_pairs)} training pairs, {len(val_pairs)} eval pairs")

    # 4. SFT with loss on the completion only
    from trl import SFTConfig, SFTTrainer

    from reportx.train.progress import LossProgress

    output_dir.mkdir(parents=True, exist_ok=True)
    args = SFTConfig(
        output_dir=str(output_dir),
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=1,
        gradient_accumulation_steps=config.gradient_accumulation,
        learning_rate=config.learning_rate,
        lr_scheduler_type=config.lr_scheduler,
        warmup_steps=config.warmup_ratio,  # a float below 1 is a ratio of the total steps
        weight_decay=config.weight_decay,
        num_train_epochs=config.epochs,
        max_steps=config.max_steps,
        logging_steps=config.logging_every,
        eval_strategy="steps" if val_pairs else "no",
        eval_steps=config.eval_every,
        save_strategy="steps",
        save_steps=config.save_every,
        save_total_limit=2,
        seed=config.seed,
        data_seed=config.seed,
        max_length=config.max_length,
        completion_only_loss=True,
        packing=False,
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
    progress = LossProgress(enabled=sys.stderr.isatty() if show_progress is None else show_progress)
    trainer = _answer_only_trainer_class(SFTTrainer)(
        model=model,
        args=args,
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
    adapter_dir = output_dir / "adapter"
    with warnings.catch_warnings():
        # On every save PEFT looks for the base's config.json to check the vocabulary; a GGUF base has none, and
        # LoRA leaves the vocabulary alone.
        warnings.filterwarnings("ignore", message="Could not find a config file")
        trainer.train(resume_from_checkpoint=str(checkpoints[-1]) if resume else None)
        # 5. adapter, final eval loss and run card
        trainer.model.save_pretrained(str(adapter_dir))
    history = trainer.state.log_history
    # The trainer evaluates at the last step by itself; evaluate again only when it did not.
    evals = [h for h in history if "eval_loss" in h]
    if evals and evals[-1]["step"] == trainer.state.global_step:
        final_eval = evals[-1]
    else:
        final_eval = trainer.evaluate() if val_pairs else {}
        history = trainer.state.log_history
    card = {
        "reportx_run": 1,
        "base_model": base.to_dict(),
        "schema": config.schema,
        "prompt": "reportx.prompts.finetuned_prompt",
        "data": {
            "train_file": str(Path(config.train_file).resolve()),
            "val_file": str(Path(config.val_file).resolve()) if config.val_file else None,
            "train_examples": len(train_pairs),
            "skipped_too_long": skipped,
            "eval_examples": len(val_pairs),
            "seed": config.seed,
        },
        "backend": {
            "name": choice.name, "reason": choice.reason, "cuda": choice.cuda, "load_in_4bit": choice.load_in_4bit,
            "bf16_head_backward": bool(trainer.bf16_head_backward),
        },
        "config": config.to_dict(),
        "environment": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "cpu_count": os.cpu_count(),
            "device": torch.cuda.get_device_name(0) if choice.cuda else platform.processor() or platform.machine(),
        },
        "result": {
            "optimizer_steps": trainer.state.global_step,
            "epochs": trainer.state.epoch,
            "wall_seconds": round(time.time() - started, 1),
            "train_loss": [
                {"step": h["step"], "loss": h["loss"]} for h in history if "loss" in h
            ],
            "eval_loss": [
                {"step": h["step"], "loss": h["eval_loss"]} for h in history if "eval_loss" in h
            ],
            "final_eval_loss": final_eval.get("eval_loss"),
            "resumed": resume,
        },
        "adapter_dir": "adapter",
    }
    write_run_card(output_dir, card)
    _say(f"adapter in {adapter_dir}; run card in {output_dir / 'run_card.md'} ({card['result']['wall_seconds']} s)")
    return TrainResult(output_dir=output_dir, adapter_dir=adapter_dir, run_card=card)


def load_run_card(run_dir: Path) -> dict[str, Any]:
    """The run card of a finished run."""
    path = Path(run_dir) / "run_card.json"
    if not path.is_file():
        raise ReportxError(f"{run_dir} is not a finished reportx run (no run_card.json)")
    return json.loads(path.read_text(encoding="utf-8"))
