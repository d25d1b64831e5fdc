"""Which models the split output head takes, and how many tokens a body keeps (reportx.export.split); the body of
the default model and the head's logits are tested on the real files in tests/extract/test_default_model.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from gguf import GGUFValueType

from reportx.errors import ReportxError
from reportx.export.gguf_io import GGUFHeader, GGUFTensorInfo, GGUFValue
from reportx.export.split import body_vocabulary, splittable, write_body_gguf


def header(arch: str = "gemma3", head_type: int = 8, untied: bool = False, types: list[int] | None = None) -> GGUFHeader:
    tensors = {"token_embd.weight": GGUFTensorInfo("token_embd.weight", (64, 16), head_type)}
    if untied:
        tensors["output.weight"] = GGUFTensorInfo("output.weight", (64, 16), 12)  # Q4_K
    metadata = {
        "general.architecture": GGUFValue(GGUFValueType.STRING, arch.encode()),
        "tokenizer.ggml.eos_token_id": GGUFValue(GGUFValueType.UINT32, 1),
        "tokenizer.ggml.bos_token_id": GGUFValue(GGUFValueType.UINT32, 2),
        "tokenizer.ggml.token_type": GGUFValue(GGUFValueType.ARRAY, types or [3] * 16, GGUFValueType.INT32),
    }
    return GGUFHeader(path=Path("model.gguf"), version=3, metadata=metadata, tensors=tensors)


def test_gemma3_with_a_q8_0_or_f16_head_is_splittable_and_nothing_else():
    assert splittable(header()) is None
    assert splittable(header(head_type=1)) is None  # F16
    assert "architecture qwen2" in str(splittable(header(arch="qwen2")))
    assert "neither Q8_0 nor F16" in str(splittable(header(head_type=0)))  # F32: not reproduced
    assert "neither Q8_0 nor F16" in str(splittable(header(untied=True)))  # the untied output matrix decides


def test_a_body_keeps_the_special_tokens_and_the_leading_byte_tokens():
    assert body_vocabulary(header()) == 3  # up to the highest special id (bos 2)
    types = [3, 3, 3, 1, 6, 6, 6, 1, 1, 6, 1, 1, 1, 1, 1, 1]  # bytes at 4-6; a later byte token is not kept
    assert body_vocabulary(header(types=types)) == 7


def test_a_model_that_cannot_be_split_is_an_error(tmp_path):
    from reportx.export.testing import build_tiny_base

    pytest.importorskip("torch")
    base = build_tiny_base(tmp_path, hf_dir=False).gguf  # float32
    with pytest.raises(ReportxError, match="cannot split the output head"):
        write_body_gguf(base, tmp_path / "body.gguf")
    assert not (tmp_path / "body.gguf").exists()
