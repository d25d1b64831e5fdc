"""A minimal safetensors reader on numpy: export needs no torch, and never unpickles anything.

The format is an 8-byte little-endian header length, a JSON header naming each tensor's dtype, shape and byte
range, then the raw data. bfloat16 (what GPU training often saves) is widened to float32 exactly.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np

from reportx.errors import ReportxError

_DTYPES = {
    "F64": "<f8",
    "F32": "<f4",
    "F16": "<f2",
    "I64": "<i8",
    "I32": "<i4",
    "I16": "<i2",
    "I8": "i1",
    "U8": "u1",
    "BOOL": "?",
}


def read_safetensors(path: str | Path) -> dict[str, np.ndarray]:
    """All tensors of a ``.safetensors`` file as numpy arrays (memory-mapped, read-only; bf16 -> float32)."""
    path = Path(path)
    if not path.is_file():
        raise ReportxError(f"file not found: {path}")
    size = path.stat().st_size
    with path.open("rb") as fh:
        head = fh.read(8)
        if len(head) != 8:
            raise ReportxError(f"{path} is not a safetensors file (too short)")
        n = struct.unpack("<Q", head)[0]
        if n > min(size - 8, 100 << 20):
            raise ReportxError(f"{path} is not a safetensors file (bad header length)")
        try:
            header = json.loads(fh.read(n))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise ReportxError(f"{path} is not a safetensors file (header is not JSON)") from None
    header.pop("__metadata__", None)
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + n) if size > 8 + n else np.zeros(0, np.uint8)
    out: dict[str, np.ndarray] = {}
    for name, info in header.items():
        try:
            dtype, shape, (start, end) = info["dtype"], [int(d) for d in info["shape"]], info["data_offsets"]
        except (KeyError, TypeError, ValueError):
            raise ReportxError(f"{path}: malformed entry for tensor {name!r}") from None
        count = int(np.prod(shape, dtype=np.int64)) if shape else 1
        raw = data[start:end]
        if dtype == "BF16":
            if end - start != 2 * count:
                raise ReportxError(f"{path}: tensor {name!r} has the wrong byte size")
            arr = (raw.view("<u2").astype(np.uint32) << 16).view(np.float32)
        elif dtype in _DTYPES:
            itemsize = np.dtype(_DTYPES[dtype]).itemsize
            if end - start != itemsize * count:
                raise ReportxError(f"{path}: tensor {name!r} has the wrong byte size")
            arr = raw.view(_DTYPES[dtype])
        else:
            raise ReportxError(f"{path}: tensor {name!r} has unsupported dtype {dtype}")
        out[name] = arr.reshape(shape)
    return out
