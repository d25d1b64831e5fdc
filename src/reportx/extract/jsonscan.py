"""JSON text at the byte level: the structural bytes by name, and where a string ends.

Several readers of a model's answer need to step over JSON strings without parsing them (a bracket, comma or
digit inside ``"..."`` is text, not structure): :func:`reportx.extract.parse.repair_numbers` (digit groups
outside strings) and the constrained decoder's array loop guard (:mod:`reportx.extract.constrain.cursor`).
They share :func:`string_end`; :class:`StringScanner` is the same scan for a stream that arrives in chunks
(a token at a time), where a string or an escape can run over from one chunk into the next.
"""

from __future__ import annotations

from dataclasses import dataclass

QUOTE = 0x22  # "
BACKSLASH = 0x5C  # \
COMMA = 0x2C  # ,
COLON = 0x3A  # :
SPACE = 0x20
MINUS = 0x2D  # -
DOT = 0x2E  # .
ZERO = 0x30  # 0
NINE = 0x39  # 9
OPEN_BRACKET = 0x5B  # [
CLOSE_BRACKET = 0x5D  # ]
OPEN_BRACE = 0x7B  # {
CLOSE_BRACE = 0x7D  # }
OPENERS = frozenset((OPEN_BRACKET, OPEN_BRACE))
CLOSERS = frozenset((CLOSE_BRACKET, CLOSE_BRACE))
DIGITS = frozenset(range(ZERO, NINE + 1))


@dataclass
class StringScanner:
    """Where a byte stream is with respect to JSON strings, fed chunk by chunk.

    ``inside``: the stream is inside a string (the caller sets it on an opening quote it sees outside one);
    ``escape``: the last byte fed was an unescaped backslash inside a string, so the next byte is escaped.
    """

    inside: bool = False
    escape: bool = False

    def skip(self, data: bytes, pos: int) -> int:
        """The offset in ``data`` where the string open at ``data[pos]`` ends: just past its closing quote
        (``inside`` is then False), or ``len(data)`` when it goes on into the next chunk. ``pos`` itself when
        no string is open."""
        n = len(data)
        while self.inside and pos < n:
            b = data[pos]
            pos += 1
            if self.escape:
                self.escape = False
            elif b == BACKSLASH:
                self.escape = True
            elif b == QUOTE:
                self.inside = False
        return pos


def string_end(data: bytes, start: int) -> int:
    """The offset just past the JSON string whose opening quote is ``data[start]`` (escapes are skipped, not
    decoded), or ``len(data)`` when the string is not closed in ``data``."""
    return StringScanner(inside=True).skip(data, start + 1)
