"""Reading a GGUF file's header (metadata and tensor table) without its tensor data, fast.

``gguf.GGUFReader`` maps the whole file and builds a numpy view per array element, which takes seconds for a
262k-token vocabulary. Export only needs the header: the base's architecture and hyper-parameters, the shapes
of its tensors (to check an adapter against them before llama.cpp does), and the tokenizer arrays to copy into a
new model file. This reader parses just that, keeping strings as raw bytes so that they are copied exactly.
"""

from __future__ import annotations

import contextlib
import os

import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Callable

import numpy as np
from gguf import GGUFValueType

from reportx.errors import ReportxError

GGUF_MAGIC = b"GGUF"

_SCALAR = {
    GGUFValueType.UINT8: ("<B", 1),
    GGUFValueType.INT8: ("<b", 1),
    GGUFValueType.UINT16: ("<H", 2),
    GGUFValueType.INT16: ("<h", 2),
    GGUFValueType.UINT32: ("<I", 4),
    GGUFValueType.INT32: ("<i", 4),
    GGUFValueType.FLOAT32: ("<f", 4),
    GGUFValueType.BOOL: ("<?", 1),
    GGUFValueType.UINT64: ("<Q", 8),
    GGUFValueType.INT64: ("<q", 8),
    GGUFValueType.FLOAT64: ("<d", 8),
}
_NUMPY = {
    GGUFValueType.UINT8: "<u1",
    GGUFValueType.INT8: "<i1",
    GGUFValueType.UINT16: "<u2",
    GGUFValueType.INT16: "<i2",
    GGUFValueType.UINT32: "<u4",
    GGUFValueType.INT32: "<i4",
    GGUFValueType.FLOAT32: "<f4",
    GGUFValueType.BOOL: "?",
    GGUFValueType.UINT64: "<u8",
    GGUFValueType.INT64: "<i8",
    GGUFValueType.FLOAT64: "<f8",
}


@dataclass(frozen=True)
class GGUFValue:
    """One metadata value as stored: ``value`` is a Python scalar, ``bytes`` for a string, or a list for an array
    (of bytes for string arrays); ``sub_type`` is the element type of an array."""

    type: GGUFValueType
    value: Any
    sub_type: GGUFValueType | None = None

    def text(self) -> str:
        return self.value.decode("utf-8") if isinstance(self.value, bytes) else str(self.value)


@dataclass(frozen=True)
class GGUFTensorInfo:
    name: str
    shape: tuple[int, ...]  # ggml order: shape[0] is ne[0], the contiguous dimension
    ggml_type: int
    offset: int = 0  # from the start of the data section


@dataclass
class GGUFHeader:
    """A GGUF file's metadata (in file order) and tensor table."""

    path: Path
    version: int
    metadata: dict[str, GGUFValue] = field(default_factory=dict)
    tensors: dict[str, GGUFTensorInfo] = field(default_factory=dict)
    data_start: int = 0  # file offset of the tensor data section

    def read_f32(self, name: str) -> np.ndarray:
        """An F32 tensor's data as a numpy array in numpy order (the reverse of ggml's ``ne``)."""
        info = self.tensors[name]
        if info.ggml_type != 0:
            raise ValueError(f"{name} is not an F32 tensor (ggml type {info.ggml_type})")
        count = int(np.prod(info.shape, dtype=np.int64))
        data = np.fromfile(self.path, dtype="<f4", count=count, offset=self.data_start + info.offset)
        return data.reshape(tuple(reversed(info.shape)))

    @property
    def architecture(self) -> str | None:
        value = self.metadata.get("general.architecture")
        return value.text() if value is not None else None

    def get(self, key: str, default: Any = None) -> Any:
        """A scalar value (strings decoded), or ``default``."""
        value = self.metadata.get(key)
        if value is None:
            return default
        if value.type == GGUFValueType.STRING:
            return value.text()
        return value.value

    def arch_get(self, suffix: str, default: Any = None) -> Any:
        """``{architecture}.{suffix}``, e.g. ``arch_get("attention.head_count")``."""
        return self.get(f"{self.architecture}.{suffix}", default)


class _Stream:
    def __init__(self, fh: BinaryIO, path: Path) -> None:
        self.fh = fh
        self.path = path

    def read(self, n: int) -> bytes:
        data = self.fh.read(n)
        if len(data) != n:
            raise ReportxError(f"{self.path}: truncated GGUF header")
        return data

    def unpack(self, fmt: str, size: int) -> Any:
        return struct.unpack(fmt, self.read(size))[0]

    def string(self) -> bytes:
        n = self.unpack("<Q", 8)
        if n > 1 << 30:
            raise ReportxError(f"{self.path}: corrupt GGUF header (string of {n} bytes)")
        return self.read(n)


def _read_value(s: _Stream, vtype: GGUFValueType, keep: bool) -> GGUFValue | None:
    if vtype in _SCALAR:
        fmt, size = _SCALAR[vtype]
        return GGUFValue(vtype, s.unpack(fmt, size))
    if vtype == GGUFValueType.STRING:
        return GGUFValue(vtype, s.string())
    if vtype == GGUFValueType.ARRAY:
        sub = GGUFValueType(s.unpack("<I", 4))
        n = s.unpack("<Q", 8)
        if sub in _SCALAR:
            size = _SCALAR[sub][1]
            raw = s.read(size * n)
            if not keep:
                return None
            return GGUFValue(vtype, np.frombuffer(raw, dtype=_NUMPY[sub]).tolist(), sub)
        if sub == GGUFValueType.STRING:
            items = [s.string() for _ in range(n)]
            return GGUFValue(vtype, items, sub) if keep else None
        raise ReportxError(f"{s.path}: nested GGUF arrays are not supported")
    raise ReportxError(f"{s.path}: unknown GGUF value type {int(vtype)}")


def read_gguf_header(path: str | Path, keep: Callable[[str], bool] | None = None) -> GGUFHeader:
    """Parse a GGUF file's metadata and tensor table. ``keep(key)`` selects which array values to keep (all
    scalars are kept; skipped arrays are still read past)."""
    path = Path(path)
    if not path.is_file():
        raise ReportxError(f"GGUF file not found: {path}")
    with path.open("rb") as fh:
        s = _Stream(fh, path)
        if fh.read(4) != GGUF_MAGIC:
            raise ReportxError(f"{path} is not a GGUF file")
        version = s.unpack("<I", 4)
        if version < 2:
            raise ReportxError(f"{path}: GGUF version {version} is too old")
        n_tensors = s.unpack("<Q", 8)
        n_kv = s.unpack("<Q", 8)
        header = GGUFHeader(path=path, version=version)
        for _ in range(n_kv):
            key = s.string().decode("utf-8")
            vtype = GGUFValueType(s.unpack("<I", 4))
            value = _read_value(s, vtype, keep is None or keep(key))
            if value is not None:
                header.metadata[key] = value
        for _ in range(n_tensors):
            name = s.string().decode("utf-8")
            n_dims = s.unpack("<I", 4)
            shape = tuple(s.unpack("<Q", 8) for _ in range(n_dims))
            ggml_type = s.unpack("<I", 4)
            offset = s.unpack("<Q", 8)
            header.tensors[name] = GGUFTensorInfo(name, shape, ggml_type, offset)
        alignment = header.get("general.alignment", 32)
        header.data_start = -(-fh.tell() // alignment) * alignment
    return header


def tokenizer_metadata(source: str | Path | GGUFHeader) -> dict[str, GGUFValue]:
    """The ``tokenizer.*`` metadata of a model GGUF (vocabulary, scores, token types, special ids, flags, chat
    template), ready to copy into another GGUF with :func:`add_metadata`."""
    header = source if isinstance(source, GGUFHeader) else read_gguf_header(source, keep=lambda k: k.startswith("tokenizer."))
    meta = {k: v for k, v in header.metadata.items() if k.startswith("tokenizer.")}
    if "tokenizer.ggml.tokens" not in meta or "tokenizer.ggml.model" not in meta:
        raise ReportxError(f"{header.path} has no tokenizer (tokenizer.ggml.model / tokenizer.ggml.tokens)")
    return meta


def add_metadata(writer: Any, metadata: dict[str, GGUFValue]) -> None:
    """Copy metadata values, as read by :func:`read_gguf_header`, into a ``gguf.GGUFWriter``."""
    for key, value in metadata.items():
        writer.add_key_value(key, value.value, value.type, sub_type=value.sub_type)


@contextlib.contextmanager
def atomic_gguf_writer(out_path: Path, arch: str):
    """A ``gguf.GGUFWriter`` for ``out_path``: the caller adds keys and tensors, the file is written on exit
    under a temporary name and renamed into place, so a crash never leaves a partial GGUF under the final name."""
    import gguf

    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(f".{out_path.name}.{os.getpid()}.tmp")
    try:
        writer = gguf.GGUFWriter(str(tmp), arch)
        yield writer
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
        os.replace(tmp, out_path)
    finally:
        tmp.unlink(missing_ok=True)
