"""The one JSON string scanner shared by the answer's readers (no model needed)."""

from __future__ import annotations

import pytest

from reportx.extract.jsonscan import StringScanner, string_end


@pytest.mark.parametrize(
    "data, start, end",
    [(b'"abc", 1', 0, 5), (b'x "a\\"b" y', 2, 8), (b'"a\\\\"b', 0, 5), (b'"open', 0, 5), (b'"ends in \\', 0, 10),
     (b'""', 0, 2), (b'{"k": "[1,2]"}', 6, 13)],
)
def test_string_end_skips_escapes_and_stops_after_the_closing_quote(data, start, end):
    assert string_end(data, start) == end


def test_a_string_split_across_chunks_is_followed_through_its_escapes():
    scanner = StringScanner(inside=True)
    assert scanner.skip(b'ab\\', 0) == 3 and scanner.inside and scanner.escape  # the chunk ends after a backslash
    assert scanner.skip(b'"cd"}', 0) == 4 and not scanner.inside  # the escaped quote is text; the next one closes
    assert scanner.skip(b'}', 0) == 0  # no string open: nothing skipped
