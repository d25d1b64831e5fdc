"""Choosing the training backend: Unsloth (4-bit QLoRA) on a CUDA machine where it is installed, otherwise
transformers + PEFT + TRL (bitsandbytes 4-bit on CUDA when installed, float32 on CPU)."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

from reportx.errors import ReportxError


@dataclass(frozen=True)
class BackendChoice:
    name: str  # "unsloth" | "hf"
    reason: str
    cuda: bool
    load_in_4bit: bool


def _has_module(name: str) -> bool:
    # find_spec, not import: importing unsloth on a machine without CUDA raises.
    return importlib.util.find_spec(name) is not None


def cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def select_backend(
    requested: str = "auto",
    *,
    cuda: bool | None = None,
    unsloth: bool | None = None,
    bitsandbytes: bool | None = None,
    load_in_4bit: bool | None = None,
) -> BackendChoice:
    """Pick the backend for ``requested`` ("auto", "unsloth" or "hf") and say why.

    The keyword arguments default to what this machine has; tests pass them to cover every case.
    """
    cuda = cuda_available() if cuda is None else cuda
    unsloth = (_has_module("unsloth") if cuda else False) if unsloth is None else unsloth
    bitsandbytes = _has_module("bitsandbytes") if bitsandbytes is None else bitsandbytes
    if load_in_4bit and not cuda:
        raise ReportxError("load_in_4bit needs a CUDA GPU; on a CPU the base is trained in float32")
    if requested == "unsloth":
        if not cuda:
            raise ReportxError("backend unsloth needs a CUDA GPU, and none is visible")
        if not unsloth:
            raise ReportxError("backend unsloth: unsloth is not installed (pip install 'reportx[gpu]')")
        return BackendChoice("unsloth", "requested", True, load_in_4bit is not False)
    if requested == "auto" and cuda and unsloth:
        return BackendChoice("unsloth", "CUDA GPU with unsloth installed", True, load_in_4bit is not False)
    if requested not in ("auto", "hf"):
        raise ReportxError(f"unknown backend {requested!r} (auto, unsloth or hf)")
    why = "requested" if requested == "hf" else None
    if not cuda:
        return BackendChoice("hf", why or "no CUDA GPU: transformers + PEFT + TRL in float32 on the CPU", False, False)
    four_bit = bitsandbytes if load_in_4bit is None else load_in_4bit
    if four_bit and not bitsandbytes:
        raise ReportxError("load_in_4bit needs bitsandbytes (pip install 'reportx[gpu]')")
    detail = "bitsandbytes 4-bit QLoRA" if four_bit else "16-bit LoRA"
    return BackendChoice("hf", why or f"CUDA GPU without unsloth: transformers + PEFT + TRL, {detail}", True, four_bit)
