"""Backend selection, for every combination of machine (CUDA or not) and installed packages."""

import pytest

from reportx.errors import ReportxError
from reportx.train.backend import select_backend


def test_auto_picks_unsloth_on_cuda_with_unsloth():
    choice = select_backend("auto", cuda=True, unsloth=True, bitsandbytes=True)
    assert (choice.name, choice.load_in_4bit) == ("unsloth", True)
    assert "unsloth" in choice.reason


def test_auto_on_cuda_without_unsloth_uses_bitsandbytes_when_present():
    assert select_backend("auto", cuda=True, unsloth=False, bitsandbytes=True).load_in_4bit is True
    choice = select_backend("auto", cuda=True, unsloth=False, bitsandbytes=False)
    assert (choice.name, choice.load_in_4bit) == ("hf", False)


def test_auto_on_cpu_is_hf_float32():
    choice = select_backend("auto", cuda=False, unsloth=True, bitsandbytes=True)
    assert (choice.name, choice.cuda, choice.load_in_4bit) == ("hf", False, False)
    assert "CPU" in choice.reason


def test_hf_requested_on_cuda_with_unsloth_stays_hf():
    assert select_backend("hf", cuda=True, unsloth=True, bitsandbytes=False).name == "hf"


def test_unsloth_4bit_can_be_turned_off():
    assert select_backend("unsloth", cuda=True, unsloth=True, load_in_4bit=False).load_in_4bit is False


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(requested="unsloth", cuda=False, unsloth=True), "CUDA"),
        (dict(requested="unsloth", cuda=True, unsloth=False), "not installed"),
        (dict(requested="auto", cuda=False, load_in_4bit=True), "CUDA"),
        (dict(requested="hf", cuda=True, unsloth=False, bitsandbytes=False, load_in_4bit=True), "bitsandbytes"),
        (dict(requested="tpu", cuda=False), "unknown backend"),
    ],
)
def test_impossible_choices_say_why(kwargs, message):
    with pytest.raises(ReportxError, match=message):
        select_backend(**kwargs)


def test_this_machine_without_gpu_selects_hf():
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    assert select_backend("auto").name == "hf"
