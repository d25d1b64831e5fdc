"""Reading a model's answer as JSON, leniently only where the product's conventions say how.

A small model copying a report tends to write amounts as the report does: ``"budget_used_eur": 3,200`` (not
JSON: the comma would end the number) or ``4.500`` (JSON reads 4.5). Both are read here by the money
convention of :func:`reportx.schema.conventions.parse_number` (one definition): a separator followed by
exactly three digits groups thousands. Nothing else is repaired: an answer that is not JSON after this is
invalid, and the caller retries with constrained decoding.
"""

from __future__ import annotations

import json
import re
from typing import Any

from reportx.extract.jsonscan import DIGITS, MINUS, QUOTE, string_end
from reportx.schema.conventions import parse_number

# A run of digits with "," or "." separators each followed by digits, not inside a string.
_NUMBER_RUN = re.compile(rb"-?\d+(?:[.,]\d+)+")
_THOUSANDS_ONLY = re.compile(rb"-?\d{1,3}(?:([.,])\d{3})(?:\1\d{3})*")
_NUMBER_START = DIGITS | {MINUS}


def repair_numbers(text: str) -> str:
    """Rewrite digit-grouped numbers outside JSON strings ("3,200" -> 3200, "12.300,50" -> 12300.5).

    A plain decimal ("1.5", "12300.5") is left alone; "4.500" (one dot, three digits) is 4500 by convention.
    """
    data = text.encode("utf-8")
    out = bytearray()
    i = 0
    n = len(data)
    while i < n:
        b = data[i]
        if b == QUOTE:  # a string is copied as it is, digits and all
            end = string_end(data, i)
            out += data[i:end]
            i = end
            continue
        if b in _NUMBER_START:
            m = _NUMBER_RUN.match(data, i)
            if m and (i == 0 or data[i - 1] not in DIGITS):
                replacement = _canonical(m.group(0))
                if replacement is not None:
                    out += replacement
                    i = m.end()
                    continue
        out.append(b)
        i += 1
    return out.decode("utf-8", errors="replace")


def _canonical(run: bytes) -> bytes | None:
    body = run.lstrip(b"-")
    sign = "-" if run.startswith(b"-") else ""
    has_comma = b"," in body
    if not has_comma and not _THOUSANDS_ONLY.fullmatch(body):
        return None  # an ordinary JSON decimal such as 12300.5 or 1.25
    try:
        value = parse_number(body.decode())
    except ValueError:
        return None
    text = str(int(value)) if float(value).is_integer() else repr(value)
    return (sign + text).encode()


def loads_lenient(text: str) -> Any:
    """``json.loads`` after :func:`repair_numbers`; raises ``json.JSONDecodeError`` when it is still not JSON."""
    return json.loads(repair_numbers(text.strip()))
