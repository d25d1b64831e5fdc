"""The recipe's pieces that the end-to-end test cannot single out: the answer-only loss of a padded batch, and
the training arguments passed under the names this transformers version reads."""

from __future__ import annotations

import warnings
from types import SimpleNamespace

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("trl")

from reportx.export.testing import tiny_gemma3, torch_threads  # noqa: E402
from reportx.train.recipe import _answer_only_trainer_class, _checkpointing_arg, _sampling_arg  # noqa: E402


def _example(generator, prompt_len, answer_len, vocab):
    ids = torch.randint(3, vocab, (prompt_len + answer_len,), generator=generator)
    labels = ids.clone()
    labels[:prompt_len] = -100
    return ids, labels


def test_padded_batch_loss_is_the_token_weighted_mean_of_single_losses():
    from trl import SFTTrainer

    compute_loss = _answer_only_trainer_class(SFTTrainer).compute_loss
    with torch_threads(1), torch.no_grad():
        model = tiny_gemma3(0).eval()
        vocab = model.config.vocab_size
        generator = torch.Generator().manual_seed(0)
        # different prompt and answer lengths, so the answers sit at different positions of the padded batch
        examples = [_example(generator, 9, 6, vocab), _example(generator, 4, 3, vocab)]
        total = sum(int((labels[1:] != -100).sum()) for _, labels in examples)  # the loss's own count
        trainer = SimpleNamespace(model=model, current_gradient_accumulation_steps=1)

        singles = [
            compute_loss(trainer, model, {"input_ids": ids[None], "attention_mask": torch.ones_like(ids)[None],
                                          "labels": labels[None]}, num_items_in_batch=total)
            for ids, labels in examples
        ]
        width = max(len(ids) for ids, _ in examples)
        batch = {"input_ids": torch.zeros(2, width, dtype=torch.long), "attention_mask": torch.zeros(2, width, dtype=torch.long),
                 "labels": torch.full((2, width), -100)}
        for row, (ids, labels) in enumerate(examples):  # right padding, as TRL's collator pads
            batch["input_ids"][row, : len(ids)] = ids
            batch["attention_mask"][row, : len(ids)] = 1
            batch["labels"][row, : len(ids)] = labels
        batched = compute_loss(trainer, model, batch, num_items_in_batch=total)
    assert float(batched) == pytest.approx(float(sum(singles)), rel=1e-5)
    assert float(batched) > 0


@pytest.mark.parametrize("group", [True, False])
def test_sampling_and_checkpointing_arguments_are_read_without_deprecation_warnings(tmp_path, group):
    from trl import SFTConfig

    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        args = SFTConfig(output_dir=str(tmp_path), use_cpu=True, report_to=[],
                         **_checkpointing_arg(SFTConfig, False), **_sampling_arg(SFTConfig, group))
    strategy = getattr(args, "train_sampling_strategy", None)
    grouped = strategy == "group_by_length" if strategy is not None else args.group_by_length
    assert grouped is group
    # TRL turns activation checkpointing on unless told otherwise
    assert getattr(args, "activation_checkpointing", args.gradient_checkpointing) is False
