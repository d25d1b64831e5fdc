"""Reading a GGUF file's header (metadata and tensor table) without its tensor data, fast.

``gguf.GGUFReader`` maps the whole file and builds a numpy view per array element, which takes seconds for a
262k-token vocabulary. Export only needs the header: the base's architecture and hyper-parameters, the shapes
of its tensors (to check an adapter against them before llama.cpp does), and the tokenizer arrays to copy into a
new model file. This reader parses just that, keeping strings as raw bytes so that they are copied exactly.
"""

from __future__ import annotations

import contextlib
import math
import mmap
import os
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from gguf import GGML_QUANT_SIZES, GGMLQuantizationType, GGUFValueType, Keys

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


#: ggml's GGML_MAX_DIMS: a tensor with more dimensions is a corrupt header
_MAX_DIMS = 4


class GGUFError(ReportxError):
    """A file that is not a readable GGUF. ``reason`` says why without the path, for callers that add their own
    context (which option named the file)."""

    def __init__(self, path: str | Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = Path(path)
        self.reason = reason


@dataclass(frozen=True)
class GGUFValue:
    """One metadata value as stored: ``value`` is a Python scalar, ``bytes`` for a string, or a list for an array
    (of bytes for string arrays); ``sub_type`` is the element type of an array."""

    type: GGUFValueType
    value: Any
    sub_type: GGUFValueType | None = None

    def text(self) -> str:
        # "replace": a corrupt file's metadata must read as something, not raise (the bytes stay in ``value``)
        return self.value.decode("utf-8", "replace") if isinstance(self.value, bytes) else str(self.value)


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
        """An F32 or F16 tensor's data as float32 in numpy order (the reverse of ggml's ``ne``)."""
        info = self.tensors[name]
        dtypes = {0: "<f4", 1: "<f2"}  # ggml types F32, F16
        if info.ggml_type not in dtypes:
            raise ValueError(f"{name} is not an F32 or F16 tensor (ggml type {info.ggml_type})")
        count = int(np.prod(info.shape, dtype=np.int64))
        data = np.fromfile(self.path, dtype=dtypes[info.ggml_type], count=count, offset=self.data_start + info.offset)
        return data.astype(np.float32).reshape(tuple(reversed(info.shape)))

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
    """The header's bytes through a read-only memory map: ``struct.unpack_from`` at an offset, no read call per
    value (a 262k-token vocabulary is 262k strings: file reads took ~0.25 s a header, several headers a load)."""

    def __init__(self, buf: Any, path: Path) -> None:
        self.buf = buf
        self.path = path
        self.size = len(buf)
        self.pos = 0

    def read(self, n: int) -> bytes:
        # a corrupt length must not become a huge allocation: nothing past the end of the file can be read anyway
        if n > self.size - self.pos:
            raise GGUFError(self.path, "truncated GGUF header")
        data = self.buf[self.pos:self.pos + n]
        self.pos += n
        return data

    def unpack(self, fmt: str, size: int) -> Any:
        if size > self.size - self.pos:
            raise GGUFError(self.path, "truncated GGUF header")
        value = struct.unpack_from(fmt, self.buf, self.pos)[0]
        self.pos += size
        return value

    def string(self) -> bytes:
        n = self.unpack("<Q", 8)
        if n > 1 << 30:
            raise GGUFError(self.path, f"corrupt GGUF header (string of {n} bytes)")
        return self.read(n)

    def skip_strings(self, count: int) -> None:
        """Move past ``count`` strings without making them."""
        buf, pos, size, unpack_from = self.buf, self.pos, self.size, struct.unpack_from
        for _ in range(count):
            if pos + 8 > size:
                raise GGUFError(self.path, "truncated GGUF header")
            pos += 8 + unpack_from("<Q", buf, pos)[0]
        if pos > size:
            raise GGUFError(self.path, "truncated GGUF header")
        self.pos = pos


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
            if 8 * n > s.size - s.pos:  # each string has an 8-byte length: a corrupt count, not a long loop
                raise GGUFError(s.path, "truncated GGUF header")
            if not keep:
                s.skip_strings(n)
                return None
            return GGUFValue(vtype, [s.string() for _ in range(n)], sub)
        raise GGUFError(s.path, "nested GGUF arrays are not supported")
    raise GGUFError(s.path, f"unknown GGUF value type {int(vtype)}")


def read_gguf_header(path: str | Path, keep: Callable[[str], bool] | None = None) -> GGUFHeader:
    """Parse a GGUF file's metadata and tensor table. ``keep(key)`` selects which array values to keep (all
    scalars are kept; skipped arrays are still read past). Raises :class:`GGUFError` (a ``ReportxError``) for a
    file that is missing, not GGUF, or whose header is truncated or corrupt."""
    path = Path(path)
    if not path.is_file():
        raise GGUFError(path, "GGUF file not found")
    try:
        with path.open("rb") as fh:
            if os.fstat(fh.fileno()).st_size == 0:  # mmap refuses an empty file
                return _parse_header(_Stream(b"", path), keep)
            with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as buf:
                return _parse_header(_Stream(buf, path), keep)
    except (ValueError, struct.error) as exc:  # an unknown enum value, a key that is not UTF-8: a corrupt file
        raise GGUFError(path, f"corrupt GGUF header ({exc})") from None


def _parse_header(s: _Stream, keep: Callable[[str], bool] | None) -> GGUFHeader:
    path = s.path
    if s.size == 0:
        raise GGUFError(path, "the file is empty")
    if s.size < len(GGUF_MAGIC) or s.read(len(GGUF_MAGIC)) != GGUF_MAGIC:
        raise GGUFError(path, "not a GGUF file (no GGUF magic at its start)")
    version = s.unpack("<I", 4)
    if version < 2:
        raise GGUFError(path, f"GGUF version {version} is too old")
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
        if n_dims > _MAX_DIMS:
            raise GGUFError(path, f"corrupt GGUF header (tensor {name!r} has {n_dims} dimensions)")
        shape = tuple(s.unpack("<Q", 8) for _ in range(n_dims))
        ggml_type = s.unpack("<I", 4)
        offset = s.unpack("<Q", 8)
        header.tensors[name] = GGUFTensorInfo(name, shape, ggml_type, offset)
    alignment = header.get("general.alignment", 32)
    if not isinstance(alignment, int) or alignment <= 0 or alignment & (alignment - 1):
        raise GGUFError(path, f"corrupt GGUF header (general.alignment {alignment!r} is not a power of two)")
    header.data_start = -(-s.pos // alignment) * alignment
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


# Checking files before llama.cpp reads them ---------------------------------------------------------------------
#
# llama.cpp trusts a GGUF LoRA adapter: an empty or text file, a truncated adapter or a model given as adapter end
# the process with a segmentation fault (exit 139, nothing on stderr). These checks read headers only, with
# read_gguf_header rather than gguf.GGUFReader: GGUFReader builds a numpy view per array element (26 s for the
# default base's 262k-token vocabulary on a busy 2-core machine, where read_gguf_header takes 0.45 s), and on a
# corrupt array count past the end of the file it loops on empty views instead of failing.

_LORA_SUFFIXES = (".lora_a", ".lora_b")
_BLOCK = re.compile(r"^blk\.(\d+)\.")


def _tensor_nbytes(info: GGUFTensorInfo) -> int:
    """Bytes of a tensor's data, from ggml's block sizes; ``ValueError`` for a type or shape ggml cannot hold."""
    qtype = GGMLQuantizationType(info.ggml_type)  # ValueError for an unknown type
    if qtype not in GGML_QUANT_SIZES:
        raise ValueError(f"tensor {info.name} has ggml type {qtype.name}, which has no size")
    block, type_size = GGML_QUANT_SIZES[qtype]
    if info.shape and info.shape[0] % block:
        raise ValueError(f"tensor {info.name}'s rows ({info.shape[0]}) do not split into {qtype.name} blocks of {block}")
    return math.prod(info.shape) // block * type_size


def check_tensor_data(header: GGUFHeader) -> None:
    """Raise :class:`GGUFError` unless every tensor's data lies inside the file (a truncated download or copy
    has a whole header and too little data) and has a known ggml type."""
    size = header.path.stat().st_size
    for info in header.tensors.values():
        try:
            end = header.data_start + info.offset + _tensor_nbytes(info)
        except ValueError as exc:
            raise GGUFError(header.path, str(exc)) from None
        if end > size:
            raise GGUFError(header.path, f"truncated: tensor {info.name}'s data ends at byte {end}, the file has {size}")


def check_model_gguf(path: str | Path, label: str = "--model") -> GGUFHeader:
    """The header of a model GGUF about to be loaded, or ``ReportxError`` in one line naming ``label``: not GGUF,
    an unreadable or truncated header, tensor data past the end of the file, or a LoRA adapter."""
    try:
        header = read_gguf_header(path, keep=lambda key: False)
        check_tensor_data(header)
    except GGUFError as exc:
        raise ReportxError(f"{label} {path} is not a usable GGUF model: {exc.reason}") from None
    if header.get(Keys.General.TYPE) == "adapter":
        raise ReportxError(f"{label} {path} is a LoRA adapter, not a model (pass it as --adapter)")
    return header


def check_lora_adapter(adapter_path: str | Path, base: str | Path | GGUFHeader, label: str = "--adapter") -> GGUFHeader:
    """Check that ``adapter_path`` is a GGUF LoRA adapter llama.cpp can apply to the model ``base`` (a path, or its
    header from :func:`check_model_gguf`), and return the adapter's header.

    Checked, from the headers only: GGUF magic and a readable header; ``general.type`` "adapter" and
    ``adapter.type`` "lora"; the same ``general.architecture`` as the base; tensors in ``<base tensor>.lora_a`` /
    ``.lora_b`` pairs, each naming a tensor of the base (``blk.N.*`` with N below the base's block count) with
    shapes llama.cpp accepts (``a.ne[0]`` = the base's input dim, ``b.ne[1]`` = its output dim, ``a.ne[1]`` =
    ``b.ne[0]``, the rank); and all tensor data inside the file. Raises ``ReportxError`` in one line.
    """
    base_header = base if isinstance(base, GGUFHeader) else read_gguf_header(base, keep=lambda key: False)
    if not Path(adapter_path).is_file():
        raise ReportxError(f"{label} file not found: {adapter_path}")
    not_lora = f"{label} {adapter_path} is not a LoRA adapter GGUF"
    try:
        header = read_gguf_header(adapter_path, keep=lambda key: False)
        check_tensor_data(header)
    except GGUFError as exc:
        raise ReportxError(f"{not_lora}: {exc.reason}") from None
    kind, adapter_kind = header.get(Keys.General.TYPE), header.get(Keys.Adapter.TYPE)
    if kind != "adapter":
        hint = " (a model file?)" if kind in (None, "model") else ""
        raise ReportxError(f"{not_lora}: general.type is {kind!r}, not 'adapter'{hint}")
    if adapter_kind != "lora":
        raise ReportxError(f"{not_lora}: adapter.type is {adapter_kind!r}, not 'lora'")
    pairs = _lora_pairs(header, not_lora)
    _check_lora_fits(header, pairs, base_header, f"{label} {adapter_path}")
    return header


def _lora_pairs(header: GGUFHeader, not_lora: str) -> dict[str, tuple[GGUFTensorInfo, GGUFTensorInfo]]:
    """``{base tensor name: (lora_a, lora_b)}``; ``ReportxError`` for a tensor outside a complete 2-D pair."""
    for name, info in header.tensors.items():
        if not name.endswith(_LORA_SUFFIXES):
            raise ReportxError(f"{not_lora}: tensor {name!r} is not a LoRA A/B tensor")
        if len(info.shape) != 2:
            raise ReportxError(f"{not_lora}: tensor {name!r} has shape {list(info.shape)}, not 2-D")
    pairs: dict[str, tuple[GGUFTensorInfo, GGUFTensorInfo]] = {}
    for name in header.tensors:
        target, suffix = name[: -len(".lora_a")], name[-len(".lora_a"):]
        other = target + (".lora_b" if suffix == ".lora_a" else ".lora_a")
        if other not in header.tensors:
            raise ReportxError(f"{not_lora}: {name} has no {other}")
        pairs[target] = (header.tensors[target + ".lora_a"], header.tensors[target + ".lora_b"])
    if not pairs:
        raise ReportxError(f"{not_lora}: it holds no LoRA tensors")
    return pairs


def _check_lora_fits(
    header: GGUFHeader, pairs: dict[str, tuple[GGUFTensorInfo, GGUFTensorInfo]], base: GGUFHeader, what: str
) -> None:
    """The adapter's architecture, blocks and shapes against the base's, as llama.cpp's adapter loader checks
    them (a mismatch there is not always a clean error)."""
    arch, base_arch = header.architecture, base.architecture
    blocks = base.arch_get("block_count")
    model = f"the model {base.path.name} is {base_arch}" + (f" with {blocks} blocks" if isinstance(blocks, int) else "")
    if arch != base_arch:
        raise ReportxError(f"{what} was made for {arch or 'no architecture'}, {model}")
    used = [int(m.group(1)) for m in map(_BLOCK.match, pairs) if m]
    if used and isinstance(blocks, int) and max(used) >= blocks:
        raise ReportxError(f"{what} was made for {arch} with at least {max(used) + 1} blocks, {model}")
    for target, (a, b) in pairs.items():
        info = base.tensors.get(target)
        if info is None:
            raise ReportxError(f"{what} was made for another model: {model} and has no tensor {target}")
        n_in, n_out = info.shape[0], info.shape[1] if len(info.shape) > 1 else 1
        if (a.shape[0], b.shape[1]) != (n_in, n_out) or a.shape[1] != b.shape[0]:
            raise ReportxError(
                f"{what} was made for another model: its {target} maps {a.shape[0]} -> {b.shape[1]} features "
                f"(lora_a {list(a.shape)}, lora_b {list(b.shape)}), the model's maps {n_in} -> {n_out}"
            )
