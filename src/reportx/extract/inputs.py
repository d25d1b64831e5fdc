"""Finding the reports to extract and reading them as text, whatever editor wrote them.

Inputs are files, directories (searched recursively for ``--glob`` patterns, ``*.txt`` and ``*.md`` by
default; hidden files and folders are skipped), ``-`` for one report on stdin, and JSONL files (``.jsonl`` /
``.ndjson``, or stdin with ``--jsonl-field``) with the report text in a field (``text`` by default).

Decoding, in order: a byte-order mark (UTF-8, UTF-16 LE/BE, UTF-32), then strict UTF-8, then UTF-16 without a
BOM (recognised by its zero bytes), then Windows-1252 (what a Spanish or English PM's editor on Windows writes;
it is a superset of the printable latin-1) unless the result looks like another alphabet decoded wrongly, when
charset-normalizer decides. Binary files (zero bytes that are not UTF-16, control characters, known
signatures) are not decoded: they become error records. Line endings become ``\\n`` and text is NFC-normalised;
nothing else is changed.
"""

from __future__ import annotations

import hashlib
import json
import sys
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterable, Iterator

from reportx.errors import ReportxError

DEFAULT_GLOBS = ("*.txt", "*.md")
JSONL_SUFFIXES = (".jsonl", ".ndjson")
DEFAULT_JSONL_FIELD = "text"
#: Files above this size are not read: no report that long fits any context window.
MAX_REPORT_BYTES = 1 << 20

_SIGNATURES = {
    b"%PDF": "PDF",
    b"PK\x03\x04": "ZIP/Office",
    b"\x89PNG": "PNG",
    b"\xff\xd8\xff": "JPEG",
    b"GIF8": "GIF",
    b"\x7fELF": "executable",
    b"\xd0\xcf\x11\xe0": "OLE/Office",
    b"\x1f\x8b": "gzip",
    b"SQLite format 3\x00": "SQLite",
}


class NotText(ValueError):
    """Bytes that are not a text report (binary, or undecodable)."""


@dataclass
class InputItem:
    """One report to extract: its source, its text, or why it has none."""

    source: str
    text: str | None = None
    error: str | None = None
    encoding: str | None = None
    sha256: str = ""

    def __post_init__(self) -> None:
        if not self.sha256:
            self.sha256 = text_sha256(self.text) if self.text is not None else ""


def normalize_text(text: str) -> str:
    """What extraction reads: BOM dropped, line endings as ``\\n``, NFC. Meaning is never changed."""
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    return unicodedata.normalize("NFC", text)


def text_sha256(text: str) -> str:
    """sha256 of the (normalised) report text in UTF-8: the record's identity for provenance and resume."""
    return hashlib.sha256(normalize_text(text).encode("utf-8")).hexdigest()


# Decoding -------------------------------------------------------------------------------------------------

_BOMS = (
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)


def decode_bytes(data: bytes) -> tuple[str, str]:
    """Decode a report's bytes; returns (text, encoding name). Raises :class:`NotText` for binary data."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                text = data[len(bom):].decode(encoding.replace("-sig", ""))
            except UnicodeDecodeError as exc:
                raise NotText(f"invalid {encoding} text: {exc.reason}") from None
            _check_text(text)
            return normalize_text(text), encoding
    for magic, kind in _SIGNATURES.items():
        if data.startswith(magic):
            raise NotText(f"binary file ({kind}), not a text report")
    utf16 = _sniff_utf16(data)
    if utf16:
        try:
            text = data.decode(utf16)
        except UnicodeDecodeError:
            pass
        else:
            _check_text(text)
            return normalize_text(text), utf16
    if b"\x00" in data:
        raise NotText("binary file (contains zero bytes), not a text report")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        _check_text(text)
        return normalize_text(text), "utf-8"
    text, encoding = _decode_legacy(data)
    _check_text(text)
    return normalize_text(text), encoding


def _sniff_utf16(data: bytes) -> str | None:
    """UTF-16 without a BOM: mostly-ASCII text has a zero in (nearly) every other byte."""
    if len(data) < 4 or len(data) % 2:
        return None
    even, odd = data[0::2], data[1::2]
    zeros_even = even.count(0) / len(even)
    zeros_odd = odd.count(0) / len(odd)
    if zeros_odd > 0.6 and zeros_even < 0.05:
        guess = "utf-16-le"
    elif zeros_even > 0.6 and zeros_odd < 0.05:
        guess = "utf-16-be"
    else:
        return None
    try:
        text = data.decode(guess)
    except UnicodeDecodeError:
        return None
    # Without a BOM, only text that reads as Latin script (what reports are written in) is taken as UTF-16.
    latin = sum(1 for c in text if c < "\u0250" or "\u2000" <= c <= "\u20cf")
    return guess if latin >= 0.95 * len(text) else None


def _decode_legacy(data: bytes) -> tuple[str, str]:
    try:
        text = data.decode("cp1252")
        encoding = "cp1252"
    except UnicodeDecodeError:  # 0x81, 0x8D, 0x8F, 0x90, 0x9D are undefined in cp1252
        text, encoding = data.decode("latin-1"), "latin-1"
    letters = [c for c in text if c.isalpha()]
    accented = sum(1 for c in letters if ord(c) > 0x7F)
    if letters and accented / len(letters) <= 0.4:
        return text, encoding
    # Mostly non-ASCII letters: probably another alphabet (cp1251, cp1253, ...), which charset-normalizer
    # recognises far better than it guesses between Western code pages for short Spanish or English text.
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(data).best()
    except Exception:  # pragma: no cover - detector failure: keep the Western reading
        best = None
    if best is not None and best.encoding:
        return str(best), best.encoding
    return text, encoding


def _check_text(text: str) -> None:
    if not text:
        return
    # C0 controls other than whitespace (and DEL); C1 controls are what latin-1 makes of some bytes, and one
    # stray character (the Ctrl-Z an old editor appends) does not make a file binary.
    controls = sum(1 for c in text if (c < " " and c not in "\t\n\r\f\v") or c == "\x7f")
    if "\x00" in text or (controls >= 3 and controls / len(text) > 0.02):
        raise NotText("binary file (control characters), not a text report")


# Discovering inputs ---------------------------------------------------------------------------------------


def read_report_file(path: Path, source: str | None = None) -> InputItem:
    """One report file as an :class:`InputItem` (never raises for content problems: they become ``error``)."""
    source = source if source is not None else str(path)
    try:
        size = path.stat().st_size
        if size > MAX_REPORT_BYTES:
            return InputItem(source, error=f"report is longer than the context ({size} bytes)", sha256=_file_sha256(path))
        data = path.read_bytes()
    except OSError as exc:
        return InputItem(source, error=f"cannot read: {exc.strerror or exc}")
    return item_from_bytes(data, source)


def item_from_bytes(data: bytes, source: str) -> InputItem:
    try:
        text, encoding = decode_bytes(data)
    except NotText as exc:
        return InputItem(source, error=str(exc), sha256=hashlib.sha256(data).hexdigest())
    return InputItem(source, text=text, encoding=encoding)


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_jsonl(data: bytes, source: str, field: str) -> Iterator[InputItem]:
    """Each non-empty line of a JSONL file as a report; the text is in ``field``. Source is ``path:LINE``."""
    try:
        text, _ = decode_bytes(data)
    except NotText as exc:
        yield InputItem(source, error=str(exc), sha256=hashlib.sha256(data).hexdigest())
        return
    for number, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        where = f"{source}:{number}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            yield InputItem(where, error=f"line is not JSON: {exc.msg}", sha256=hashlib.sha256(line.encode()).hexdigest())
            continue
        value = obj.get(field) if isinstance(obj, dict) else None
        if not isinstance(value, str):
            reason = f"no text field {field!r}" if not (isinstance(obj, dict) and field in obj) else f"field {field!r} is not a string"
            yield InputItem(where, error=reason, sha256=hashlib.sha256(line.encode()).hexdigest())
            continue
        yield InputItem(where, text=normalize_text(value), encoding="json")


def _matches(path: Path, globs: Iterable[str]) -> bool:
    return any(path.match(g) for g in globs)


def discover(
    inputs: Iterable[str],
    globs: Iterable[str] | None = None,
    jsonl_field: str | None = None,
    stdin: BinaryIO | None = None,
) -> Iterator[InputItem]:
    """Every report named by ``inputs``, in order (directories sorted). Raises ``ReportxError`` for a path that
    does not exist, ``-`` given twice, or an input list with no report in it."""
    globs = tuple(globs) if globs else DEFAULT_GLOBS
    field = jsonl_field or DEFAULT_JSONL_FIELD
    inputs = list(inputs)
    if not inputs:
        raise ReportxError("no input: give report files, directories, or - for stdin")
    if inputs.count("-") > 1:
        raise ReportxError("- (stdin) can be given once")
    for name in inputs:
        if name != "-" and not Path(name).exists():
            raise ReportxError(f"input not found: {name}")
    found = 0
    for name in inputs:
        if name == "-":
            stream = stdin if stdin is not None else sys.stdin.buffer
            data = stream.read(MAX_REPORT_BYTES * 64 if jsonl_field else MAX_REPORT_BYTES + 1)
            found += 1
            if jsonl_field:
                yield from read_jsonl(data, "-", field)
            elif len(data) > MAX_REPORT_BYTES:
                yield InputItem("-", error=f"report is longer than the context (over {MAX_REPORT_BYTES} bytes)",
                                sha256=hashlib.sha256(data).hexdigest())
            else:
                yield item_from_bytes(data, "-")
            continue
        path = Path(name)
        if path.is_dir():
            files = sorted(
                p for p in path.rglob("*")
                if p.is_file()
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
                and (_matches(p, globs) or (jsonl_field and p.suffix.lower() in JSONL_SUFFIXES))
            )
            for p in files:
                found += 1
                yield from _file_items(p, field)
        else:
            found += 1
            yield from _file_items(path, field)
    if not found:
        raise ReportxError(f"no reports found (directories are searched for {', '.join(globs)})")


def _file_items(path: Path, field: str) -> Iterator[InputItem]:
    if path.suffix.lower() in JSONL_SUFFIXES:
        try:
            data = path.read_bytes()
        except OSError as exc:
            yield InputItem(str(path), error=f"cannot read: {exc.strerror or exc}")
            return
        yield from read_jsonl(data, str(path), field)
    else:
        yield read_report_file(path)
