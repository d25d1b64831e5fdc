"""Finding the reports to extract and reading them as text, whatever editor wrote them.

Inputs are files, directories (searched recursively for ``--glob`` patterns, ``*.txt`` and ``*.md`` by
default; hidden files and folders are skipped), ``-`` for one report on stdin, and JSONL files (``.jsonl`` /
``.ndjson``, or stdin with ``--jsonl-field``) with the report text in a field: the one named, else found the way
train, score and eval find it (``input``, ``text``, or the user message of chat ``messages``). JSONL is
read one line at a time, whatever its size; a line longer than a report may be is an error record.

Nothing is skipped in silence: what cannot be read becomes an error record (with its reason) rather than
vanishing. That covers a folder that cannot be listed, a FIFO, socket or device where a report file is expected
(never opened, so it cannot hang the batch), a broken symbolic link with a report's name, and a link that loops.
Symbolic links are followed; one that leads back to a folder containing it is a loop, and a folder reached twice
is read once. A file name that is not valid UTF-8 is shown (as the record's source) with its stray bytes written
``\\xNN``.

Decoding, in order: a byte-order mark (UTF-8, UTF-16 LE/BE, UTF-32), then UTF-16 without a BOM (recognised by
its zero bytes), then strict UTF-8, then UTF-8 with a few stray bytes (valid multi-byte UTF-8 around one or a
few invalid bytes, such as a pasted Windows quote: the bad bytes become U+FFFD and the item says so in
``notes``), then Windows-1252 (what a Spanish or English PM's editor on Windows writes; it is a superset of the
printable latin-1) unless the result looks like another alphabet decoded wrongly, when charset-normalizer
decides. Binary files (zero bytes that are not UTF-16, control characters, known signatures) are not decoded:
they become error records. Line endings become ``\\n`` and text is NFC-normalised; nothing else is changed.
"""
from __future__ import annotations

import codecs
import errno
import hashlib
import io
import json
import os
import re
import stat
import sys
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from reportx.errors import ReportxError
from reportx.labelled import report_text

DEFAULT_GLOBS = ("*.txt", "*.md")
JSONL_SUFFIXES = (".jsonl", ".ndjson")
#: Files (and JSONL lines) above this size are not read: no report that long fits any context window.
MAX_REPORT_BYTES = 1 << 20
#: UTF-8 text with invalid bytes is still read as UTF-8 (the bytes replaced) when it has valid multi-byte
#: sequences and at most this many invalid bytes, or this share of its size: see :func:`_mostly_utf8`.
STRAY_BYTES = 8
STRAY_SHARE = 0.01

_BLOCK = 1 << 16

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
    """One report to extract: its source, its text, or why it has none; ``notes`` on how it was read."""

    source: str
    text: str | None = None
    error: str | None = None
    encoding: str | None = None
    sha256: str = ""
    notes: list[str] = field(default_factory=list)

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


_SURROGATE = re.compile("[\ud800-\udfff]")


def printable_path(path: str | os.PathLike[str]) -> str:
    """A path as a source string that can be written as UTF-8 (JSON, CSV, SQLite) and is the same every run.

    A file name that is not valid UTF-8 (latin-1 bytes from an old file system) reaches Python with each bad
    byte as a lone surrogate (``os.fsdecode``), which no UTF-8 writer accepts: each becomes ``\\xNN``.
    """
    return _SURROGATE.sub(_escape_surrogate, os.fspath(path))


def _escape_surrogate(match: re.Match[str]) -> str:
    code = ord(match.group())
    # U+DC80..U+DCFF is how surrogateescape carries the byte 0x80..0xFF; anything else is an odd code point.
    return f"\\x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"\\u{code:04x}"


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
    text, encoding, _ = decode_report(data)
    return text, encoding


def decode_report(data: bytes) -> tuple[str, str, list[str]]:
    """Decode a report's bytes; returns (text, encoding name, notes on what decoding changed, usually none).

    Raises :class:`NotText` for binary data.
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                text = data[len(bom):].decode(encoding.replace("-sig", ""))
            except UnicodeDecodeError as exc:
                raise NotText(f"invalid {encoding} text: {exc.reason}") from None
            _check_text(text)
            return normalize_text(text), encoding, []
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
            return normalize_text(text), utf16, []
    if b"\x00" in data:
        raise NotText("binary file (contains zero bytes), not a text report")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        _check_text(text)
        return normalize_text(text), "utf-8", []
    mostly = _mostly_utf8(data)
    if mostly is not None:
        text, bad = mostly
        _check_text(text)
        note = f"{bad} invalid UTF-8 byte{'s' if bad != 1 else ''} replaced with U+FFFD"
        return normalize_text(text), "utf-8", [note]
    text, encoding = _decode_legacy(data)
    _check_text(text)
    return normalize_text(text), encoding, []


def _mostly_utf8(data: bytes) -> tuple[str, int] | None:
    """UTF-8 text with a few stray bytes: (text with each bad byte as U+FFFD, number of bad bytes), else None.

    Read as cp1252, such a file would garble every correct accented letter to save one bad byte. A real cp1252
    file is the other way round: its accented letters are all invalid UTF-8 and valid multi-byte sequences are
    rare accidents (an uppercase accented letter before a quote or a euro sign), so it needs both few bad bytes
    and more valid sequences than bad bytes. One or two bad bytes with any valid sequence is a pasted quote pair.
    """
    escaped = data.decode("utf-8", "surrogateescape")  # each invalid byte -> one of U+DC80..U+DCFF
    bad = sum(1 for c in escaped if "\udc80" <= c <= "\udcff")
    multibyte = sum(1 for c in escaped if c > "\x7f") - bad
    if not multibyte:
        return None  # nothing says UTF-8: a legacy code page reads every byte
    if bad > 2 and (bad > max(STRAY_BYTES, STRAY_SHARE * len(data)) or bad > multibyte):
        return None
    return _SURROGATE.sub("\ufffd", escaped), bad


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
    """One report file as an :class:`InputItem` (never raises for content problems: they become ``error``).

    Only a regular file is opened: a FIFO, socket or device would block the batch or never end.
    """
    source = source if source is not None else printable_path(path)
    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode):
            return InputItem(source, error=_not_regular(st.st_mode))
        if st.st_size > MAX_REPORT_BYTES:
            return InputItem(source, error=f"report is longer than the context ({st.st_size} bytes)",
                             sha256=_file_sha256(path))
        data = path.read_bytes()
    except OSError as exc:
        return InputItem(source, error=_cannot_read(exc))
    return item_from_bytes(data, source)


def item_from_bytes(data: bytes, source: str) -> InputItem:
    """One report's bytes as an :class:`InputItem`: decoded text (with decoding notes), or the reason it is not text."""
    try:
        text, encoding, notes = decode_report(data)
    except NotText as exc:
        return InputItem(source, error=str(exc), sha256=hashlib.sha256(data).hexdigest())
    return InputItem(source, text=text, encoding=encoding, notes=notes)


def _cannot_read(exc: OSError) -> str:
    return f"cannot read: {exc.strerror or exc}"


def _not_regular(mode: int) -> str:
    kinds = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
             (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))
    kind = next((name for test, name in kinds if test(mode)), "not a file")
    return f"not a regular file ({kind})"


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_jsonl(data: bytes, source: str, field: str | None) -> Iterator[InputItem]:
    """Each non-empty line of JSONL bytes as a report: :func:`read_jsonl_stream` over ``data``."""
    return read_jsonl_stream(io.BytesIO(data), source, field)


def read_jsonl_stream(stream: BinaryIO, source: str, field: str | None) -> Iterator[InputItem]:
    """Each non-empty line of a JSONL stream as a report; the text is in ``field``. Source is ``SOURCE:LINE``.

    The stream is read one line at a time, so any amount of input is read to its end; a line longer than
    ``MAX_REPORT_BYTES`` is an error record for that line (and is never held in memory whole). UTF-16 and
    UTF-32 (with a BOM, or UTF-16 recognised by its zero bytes) are read as well as UTF-8.
    """
    head = stream.read(_BLOCK)
    bom = next(((mark, enc) for mark, enc in _BOMS if head.startswith(mark)), None)
    utf16 = None if bom is not None else _sniff_utf16(head[: len(head) // 2 * 2])
    if bom is not None and bom[1] == "utf-8-sig":
        chunks = _chunks(head[len(bom[0]):], stream)
    elif bom is not None:
        # UTF-16/32: recoded to UTF-8 on the fly, so that lines end at b"\n" like any other JSONL.
        chunks = _recoded(_chunks(head[len(bom[0]):], stream), bom[1])
    elif utf16 is not None:
        chunks = _recoded(_chunks(head, stream), utf16)
    else:
        chunks = _chunks(head, stream)
        reason = _binary_reason(head)
        if reason is not None:
            hasher = hashlib.sha256()
            for chunk in chunks:
                hasher.update(chunk)
            yield InputItem(source, error=reason, sha256=hasher.hexdigest())
            return
    reader = io.BufferedReader(_ChunkStream(chunks), buffer_size=_BLOCK)
    for number, line, size, digest in _bounded_lines(reader):
        where = f"{source}:{number}"
        if line is None:
            yield InputItem(where, error=f"line {number} is longer than the context ({size} bytes, over the "
                                         f"{MAX_REPORT_BYTES}-byte limit of a report)", sha256=digest)
            continue
        if not line.strip():
            continue
        yield _jsonl_item(line, number, where, field)


def _chunks(head: bytes, stream: BinaryIO) -> Iterator[bytes]:
    yield head
    while block := stream.read(_BLOCK):
        yield block


def _recoded(chunks: Iterable[bytes], encoding: str) -> Iterator[bytes]:
    # Bytes that are not valid in the encoding become U+FFFD: the line they are on still parses or fails alone.
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    for chunk in chunks:
        yield decoder.decode(chunk).encode("utf-8")
    yield decoder.decode(b"", final=True).encode("utf-8")


def _binary_reason(head: bytes) -> str | None:
    """Why the start of a stream shows it is not text (a known signature, zero bytes), or None."""
    for magic, kind in _SIGNATURES.items():
        if head.startswith(magic):
            return f"binary file ({kind}), not a text report"
    if b"\x00" in head:
        return "binary file (contains zero bytes), not a text report"
    return None


class _ChunkStream(io.RawIOBase):
    """A readable raw stream over byte chunks, for a bounded ``readline`` over bytes partly read already."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        super().__init__()
        self._chunks = chunks
        self._rest = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._rest:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._rest = memoryview(chunk)
        n = min(len(buffer), len(self._rest))
        buffer[:n] = self._rest[:n]
        self._rest = self._rest[n:]
        return n


def _bounded_lines(reader: BinaryIO) -> Iterator[tuple[int, bytes | None, int, str]]:
    """(number, line without its end, size in bytes, sha256 of an over-long line) for each line; ``line`` is
    None when the line is longer than ``MAX_REPORT_BYTES``: such a line is read to its end in bounded pieces,
    never held whole."""
    number = 0
    while True:
        limit = MAX_REPORT_BYTES  # read on each line, so that tests (and callers) can lower it
        raw = reader.readline(limit + 2)  # + 2: room for the "\r\n" that ends a line of exactly the limit
        if not raw:
            return
        number += 1
        if raw.endswith(b"\n") or len(raw) < limit + 2:  # the whole line (the last one may have no end)
            line = _strip_end(raw)
            if len(line) <= limit:
                yield number, line, len(line), ""
            else:
                yield number, None, len(line), hashlib.sha256(line).hexdigest()
            continue
        digest, size = hashlib.sha256(), 0
        while raw:
            piece = _strip_end(raw) if raw.endswith(b"\n") else raw
            digest.update(piece)
            size += len(piece)
            if raw.endswith(b"\n"):
                break
            raw = reader.readline(_BLOCK)
        yield number, None, size, digest.hexdigest()


def _strip_end(raw: bytes) -> bytes:
    line = raw[:-1] if raw.endswith(b"\n") else raw
    return line[:-1] if line.endswith(b"\r") else line


def _jsonl_item(line: bytes, number: int, where: str, field: str | None) -> InputItem:
    """One JSONL line as an item: the text of ``field``, or an error that says which line and why."""
    try:
        text, _, notes = decode_report(line)
    except NotText as exc:
        return InputItem(where, error=f"line {number}: {exc}", sha256=hashlib.sha256(line).hexdigest())
    line_sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        return InputItem(where, error=f"line {number} is not JSON: {exc.msg} (column {exc.colno})", sha256=line_sha)
    except RecursionError:  # json's C decoder recurses per nesting level ("[[[[..." past Python's limit)
        return InputItem(where, error=f"line {number} is not JSON: nested too deeply", sha256=line_sha)
    if field is None:  # no field named: the forms reportx's own data sets use
        value = report_text(obj) if isinstance(obj, dict) else None
        if not isinstance(value, str):
            reason = (f"line {number} has no report text ('input', 'text' or chat 'messages'; name the field with "
                      "--jsonl-field)")
            return InputItem(where, error=reason, sha256=line_sha)
    else:
        value = obj.get(field) if isinstance(obj, dict) else None
    if not isinstance(value, str):
        if not isinstance(obj, dict):
            reason = f"line {number} is not a JSON object, so has no text field {field!r}"
        elif field not in obj:
            reason = f"line {number} has no text field {field!r}"
        else:
            reason = f"line {number}: field {field!r} is not a string"
        return InputItem(where, error=reason, sha256=line_sha)
    # JSON can spell a lone surrogate (\ud800), which no UTF-8 writer or tokenizer accepts.
    value, lone = _SURROGATE.subn("\ufffd", value)
    if lone:
        notes = [*notes, f"{lone} unpaired surrogate escape{'s' if lone != 1 else ''} replaced with U+FFFD"]
    return InputItem(where, text=normalize_text(value), encoding="json", notes=notes)


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
    field = jsonl_field  # None: detected per line (labelled.report_text)
    inputs = list(inputs)
    if not inputs:
        raise ReportxError("no input: give report files, directories, or - for stdin")
    if inputs.count("-") > 1:
        raise ReportxError("- (stdin) can be given once")
    for name in inputs:
        if name != "-" and not Path(name).exists():
            raise ReportxError(f"input not found: {printable_path(name)}")
    found = 0
    for name in inputs:
        if name == "-":
            items = _stdin_items(stdin if stdin is not None else sys.stdin.buffer, jsonl_field, field)
        elif Path(name).is_dir():
            items = _folder_items(Path(name), globs, field, jsonl=bool(jsonl_field))
        else:
            items = _file_items(Path(name), field)
        for item in items:
            found += 1  # reports, not inputs: an empty JSONL input (stdin included) has none
            yield item
    if not found:
        if inputs == ["-"] and jsonl_field:
            raise ReportxError("no reports found (stdin has no JSONL lines)")
        raise ReportxError(f"no reports found (directories are searched for {', '.join(globs)})")


def _stdin_items(stream: BinaryIO, jsonl_field: str | None, field: str | None) -> Iterator[InputItem]:
    if jsonl_field:
        yield from read_jsonl_stream(stream, "-", field)
        return
    data = stream.read(MAX_REPORT_BYTES + 1)
    if len(data) > MAX_REPORT_BYTES:
        yield InputItem("-", error=f"report is longer than the context (over {MAX_REPORT_BYTES} bytes)",
                        sha256=hashlib.sha256(data).hexdigest())
    else:
        yield item_from_bytes(data, "-")


def _folder_items(root: Path, globs: tuple[str, ...], field: str | None, jsonl: bool) -> Iterator[InputItem]:
    def wanted(path: Path) -> bool:
        return _matches(path, globs) or (jsonl and path.suffix.lower() in JSONL_SUFFIXES)

    for path, problem in sorted(_scan(root, wanted), key=lambda found: found[0]):
        if problem is not None:
            yield InputItem(printable_path(path), error=problem)
        else:
            yield from _file_items(path, field)


def _scan_folder(folder: Path, ancestors: frozenset, wanted: Callable[[Path], bool], seen: set,
                 links: list[tuple[Path, tuple[int, int], frozenset]],
                 subfolders: list[tuple[Path, frozenset]]) -> Iterator[tuple[Path, str | None]]:
    """One folder of :func:`_scan`: yield its wanted files and its problems; queue its linked folders in ``links``
    and its real subfolders in ``subfolders``."""
    try:
        with os.scandir(folder) as listing:
            entries = sorted(listing, key=lambda e: e.name)
    except OSError as exc:
        yield folder, f"cannot read folder: {exc.strerror or exc}"
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        path = Path(entry.path)
        try:
            st = entry.stat()  # follows a symbolic link: it is what it points to
        except OSError as exc:
            problem = _link_problem(entry, exc, wanted(path))
            if problem is not None:
                yield path, problem
            continue
        if not stat.S_ISDIR(st.st_mode):
            if wanted(path):
                yield path, None  # FIFOs and devices too: reading them reports them
            continue
        key = (st.st_dev, st.st_ino)
        if entry.is_symlink():
            links.append((path, key, ancestors))
        elif key not in seen:  # a bind mount can bring a folder back, like a link
            seen.add(key)
            subfolders.append((path, ancestors | {key}))
        elif key in ancestors:
            yield path, "folder loop: it is a folder that contains it"


def _scan(root: Path, wanted: Callable[[Path], bool]) -> Iterator[tuple[Path, str | None]]:
    """(path, None) for each file under ``root`` that ``wanted`` accepts, (path, reason) for each thing found
    that cannot be scanned or read: a folder that cannot be listed, a symlink loop, a broken link to a report.

    Hidden entries are skipped. Symbolic links are followed, real folders before linked ones, so that a folder
    reached both ways keeps its real path (and is read once); a link back to a folder containing it is a loop.
    """
    try:
        root_stat = root.stat()
    except OSError as exc:
        yield root, _cannot_read(exc)
        return
    seen = {(root_stat.st_dev, root_stat.st_ino)}
    folders: list[tuple[Path, frozenset]] = [(root, frozenset(seen))]
    links: list[tuple[Path, tuple[int, int], frozenset]] = []
    while folders or links:
        if not folders:
            path, key, ancestors = links.pop(0)
            if key in ancestors:
                yield path, "symlink loop: it links back to a folder that contains it"
            elif key not in seen:  # else read already, under its real path
                seen.add(key)
                folders.append((path, ancestors | {key}))
            continue
        folder, ancestors = folders.pop()
        subfolders: list[tuple[Path, frozenset]] = []
        yield from _scan_folder(folder, ancestors, wanted, seen, links, subfolders)
        folders.extend(reversed(subfolders))  # popped in name order


def _link_problem(entry: os.DirEntry, exc: OSError, wanted: bool) -> str | None:
    """Why an entry that cannot be followed is an error record, or None to skip it (a broken link to no report)."""
    if exc.errno == errno.ELOOP:
        # Whether it meant a file or a folder is unknown, so it may hide reports whatever its name.
        return "symlink loop: it never resolves to a file or folder"
    if not wanted:
        return None
    if entry.is_symlink():
        return f"broken symlink: {exc.strerror or exc}"
    return _cannot_read(exc)


def _file_items(path: Path, field: str | None) -> Iterator[InputItem]:
    source = printable_path(path)
    if path.suffix.lower() not in JSONL_SUFFIXES:
        yield read_report_file(path, source)
        return
    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode):
            yield InputItem(source, error=_not_regular(st.st_mode))
            return
        with path.open("rb") as fh:
            yield from read_jsonl_stream(fh, source, field)
    except OSError as exc:
        yield InputItem(source, error=_cannot_read(exc))
