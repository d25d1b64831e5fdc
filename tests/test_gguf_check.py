"""Hostile ``--adapter`` / ``--model`` files are refused in one line before llama.cpp sees them (it segfaults on
some): the header checks of :mod:`reportx.export.gguf_io`, as :func:`reportx.llamacpp.load_llama` runs them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from reportx.errors import ReportxError
from reportx.export.gguf_io import check_lora_adapter, check_model_gguf, read_gguf_header
from reportx.export.lora import _write_adapter
from reportx.models import BUNDLED_ADAPTER

REPO = Path(__file__).resolve().parents[1]
REPORT = REPO / "samples" / "reports" / "2026-05-04" / "zafiro.txt"
HIDDEN, Q_OUT, FF = 16, 32, 24


def fake_base(path: Path, arch: str = "gemma3", layers: int = 2) -> Path:
    """A model GGUF with the tensor table of a small base (zeros): all the checks read is its header."""
    import gguf

    writer = gguf.GGUFWriter(str(path), arch)
    writer.add_type(gguf.GGUFType.MODEL)
    writer.add_block_count(layers)
    writer.add_tensor("token_embd.weight", np.zeros((8, HIDDEN), np.float32))
    for layer in range(layers):
        writer.add_tensor(f"blk.{layer}.attn_q.weight", np.zeros((Q_OUT, HIDDEN), np.float32))  # ne [in, out]
        writer.add_tensor(f"blk.{layer}.ffn_down.weight", np.zeros((HIDDEN, FF), np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def lora(path: Path, arch: str = "gemma3", layers: tuple[int, ...] = (0, 1), n_in: int = HIDDEN, rank: int = 4,
         tensors: list | None = None) -> Path:
    """A GGUF LoRA written by reportx's own adapter writer: PEFT's A (r, in) and B (out, r) per adapted tensor."""
    if tensors is None:
        tensors = []
        for layer in layers:
            tensors.append((f"blk.{layer}.attn_q.weight.lora_a", np.ones((rank, n_in), np.float32)))
            tensors.append((f"blk.{layer}.attn_q.weight.lora_b", np.ones((Q_OUT, rank), np.float32)))
    _write_adapter(path, arch, 8.0, tensors, name="test")
    return path


@pytest.fixture
def base(tmp_path) -> Path:
    return fake_base(tmp_path / "base.gguf")


def refused(adapter: Path, base_path: Path) -> str:
    with pytest.raises(ReportxError) as info:
        check_lora_adapter(adapter, base_path)
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"--adapter {adapter} "), message
    return message


def test_an_adapter_made_for_the_base_passes(tmp_path, base):
    header = check_lora_adapter(lora(tmp_path / "ok.gguf"), base)
    assert len(header.tensors) == 4


@pytest.mark.parametrize("content", [b"", b"these are my notes, not a model\n", b"GGUF", b"GGUF\x03\x00\x00\x00" + b"\xff" * 16])
def test_empty_text_and_garbage_files_are_not_adapters(tmp_path, base, content):
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(content)
    assert "is not a LoRA adapter GGUF:" in refused(bad, base)


@pytest.mark.parametrize("end", [40, 3_000_000, -100])  # a header cut in the middle, data cut short
def test_a_truncated_bundled_adapter_is_refused(tmp_path, base, end):
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(BUNDLED_ADAPTER.read_bytes()[:end])
    message = refused(cut, base)
    assert "is not a LoRA adapter GGUF:" in message and "truncated" in message


def test_every_corrupted_header_byte_gives_a_pass_or_a_one_line_error(tmp_path, base):
    path = lora(tmp_path / "good.gguf")
    good = path.read_bytes()
    bad = tmp_path / "bad.gguf"
    for pos in range(read_gguf_header(path).data_start):
        for flip in (0xFF, 0x80):
            bad.write_bytes(good[:pos] + bytes([good[pos] ^ flip]) + good[pos + 1:])
            try:
                check_lora_adapter(bad, base)
            except ReportxError as exc:
                assert "\n" not in str(exc)


def test_a_base_model_given_as_adapter_is_refused(tmp_path, base):
    assert "general.type is 'model', not 'adapter'" in refused(fake_base(tmp_path / "other.gguf"), base)


def test_an_adapter_for_another_architecture_is_refused(tmp_path, base):
    message = refused(lora(tmp_path / "llama.gguf", arch="llama"), base)
    assert "was made for llama, the model base.gguf is gemma3 with 2 blocks" in message


def test_an_adapter_with_more_blocks_than_the_base_is_refused(tmp_path, base):
    message = refused(lora(tmp_path / "deep.gguf", layers=(0, 5)), base)
    assert "was made for gemma3 with at least 6 blocks, the model base.gguf is gemma3 with 2 blocks" in message


def test_an_adapter_for_other_dimensions_is_refused(tmp_path, base):
    message = refused(lora(tmp_path / "wide.gguf", n_in=HIDDEN * 2), base)
    assert "was made for another model" in message and f"maps {HIDDEN * 2} -> {Q_OUT}" in message


@pytest.mark.parametrize("tensors, why", [
    ([("blk.0.attn_q.weight.lora_a", np.ones((4, HIDDEN), np.float32))], "has no blk.0.attn_q.weight.lora_b"),
    ([("blk.0.attn_q.weight", np.ones((Q_OUT, HIDDEN), np.float32))], "is not a LoRA A/B tensor"),
    ([("blk.0.attn_k.weight.lora_a", np.ones((4, HIDDEN), np.float32)),
      ("blk.0.attn_k.weight.lora_b", np.ones((Q_OUT, 4), np.float32))], "has no tensor blk.0.attn_k.weight"),
])
def test_tensors_llama_cpp_cannot_pair_with_the_base_are_refused(tmp_path, base, tensors, why):
    assert why in refused(lora(tmp_path / "odd.gguf", tensors=tensors), base)


def test_the_bundled_adapter_fits_the_default_model():
    from reportx.models import default_base_model

    header = check_lora_adapter(BUNDLED_ADAPTER, check_model_gguf(default_base_model()))
    assert header.architecture == "gemma3" and header.tensors


@pytest.mark.parametrize("content", [b"", b"plain text\n", b"GGUF\x03\x00\x00\x00"])
def test_a_model_that_is_not_gguf_is_refused(tmp_path, content):
    bad = tmp_path / "model.gguf"
    bad.write_bytes(content)
    with pytest.raises(ReportxError, match=r"^--model .*model\.gguf is not a usable GGUF model: "):
        check_model_gguf(bad)


def test_an_adapter_given_as_model_is_refused(tmp_path):
    with pytest.raises(ReportxError, match="is a LoRA adapter, not a model"):
        check_model_gguf(lora(tmp_path / "a.gguf"))


def test_load_llama_checks_before_llama_cpp_sees_the_files(tmp_path, base, monkeypatch):
    from reportx import llamacpp

    built = []
    monkeypatch.setattr("llama_cpp.Llama", lambda *args, **kwargs: built.append(args))
    empty = tmp_path / "empty.gguf"
    empty.write_bytes(b"")
    with pytest.raises(ReportxError, match="is not a LoRA adapter GGUF"):
        llamacpp.load_llama(str(base), lora_path=str(empty))
    with pytest.raises(ReportxError, match="is not a usable GGUF model"):
        llamacpp.load_llama(str(empty))
    assert built == []
    llamacpp.load_llama(str(base), lora_path=str(lora(tmp_path / "ok.gguf")))
    assert len(built) == 1


def run_extract(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "reportx", "extract", str(REPORT), *args], capture_output=True,
                          text=True, timeout=300)


def test_cli_an_empty_adapter_exits_2_in_one_line(tmp_path):
    empty = tmp_path / "empty.gguf"
    empty.write_bytes(b"")
    result = run_extract("--adapter", str(empty))
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [f"reportx: error: --adapter {empty} is not a LoRA adapter GGUF: the file is empty"]


def test_cli_the_base_model_as_adapter_exits_2_in_one_line():
    from reportx.models import default_base_model

    model = default_base_model()
    result = run_extract("--adapter", str(model))
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [
        f"reportx: error: --adapter {model} is not a LoRA adapter GGUF: general.type is 'model', not 'adapter' (a model file?)"
    ]
