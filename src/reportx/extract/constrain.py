"""Grammar-constrained decoding from the record's JSON Schema: schema-valid JSON at free-decoding speed.

How it works
------------
The JSON Schema is compiled into a small byte-level pushdown automaton that accepts the JSON text of a
conforming record, keys in schema order, compact (``{"a":1,"b":[]}``, as ``ReportSchema.dumps`` writes gold
answers) or with ``json.dumps``' default spaces after ``:`` and ``,``: objects with their fixed keys, strings
(no raw control characters, valid UTF-8, bounded length), numbers, enums / consts, null, booleans, arrays (bounded), ``anyOf`` / ``oneOf`` / type lists,
local ``$ref``. Two loop guards (an array ends after three identical items in a row; no token follows itself
more than 12 times) stop the repetitions a small model falls into under greedy decoding, and if the token
budget still runs out the record is closed with the least text (strings closed, unstarted values null), so
constrained decoding always ends in schema-valid JSON. Decoding is greedy with two tricks that make it cheap:

* **The fixed text is forced, not sampled.** Whenever the automaton allows exactly one next byte (the keys,
  ``{"project_name":"``, the rest of ``"Amarillo"`` once ``"Am`` is chosen, ``}``), that text is tokenised and fed
  to the model in the same batch as the token just chosen, in the layout the model itself uses (compact unless
  its first chosen value follows a space), less its last token (token healing, below). The model chooses
  the values and one token per key: one ``llama_decode`` per chosen token.
* **No vocabulary-wide mask.** Greedy decoding only needs the best *allowed* token, so candidates are checked
  in descending logit order (the argmax first; it passes almost always) by running their bytes through the
  automaton, instead of building a 262k-entry mask per step as a GBNF grammar does.

On retry after an invalid free answer, the free tokens are replayed through the automaton and decoding
continues from the first token it rejects, so only the part of the answer that went wrong is re-generated
(the prompt and the valid part stay in the KV cache).

Numbers: the automaton also lets a number carry digit-group separators (``3,200``, ``4.500``) as a model
copying the report tends to write them; :func:`reportx.extract.parse.loads_lenient` reads those by the
product's money convention (``4.500`` = 4500) instead of letting JSON truncate them to 3 or 4.5.

Limits (documented, checked by validation afterwards): every declared property is written (optional ones
too; a property that can be null is written as null), ``additionalProperties`` is never used, ``format`` and ``pattern`` are not enforced by the automaton (the schema validator checks them, and the retry logic turns a
failure into an error record) except a ``pattern`` of the identifier shape ``^[...][...]*$`` / ``^[...]+$``,
such as the built-in ticket id's, which is enforced character by character, ``minimum`` is enforced only as "no minus sign" when it is >= 0.

Measured with ``bench/extract_speed.py --n 20 --llguidance`` (Gemma 3 270M Q4_K_M base, few-shot prompt of 938
tokens with its prefix cached, each report's own ~95 prompt tokens paid by every system, 20 synthetic val
reports, greedy, llama-cpp-python 0.3.36, 1 llama.cpp thread on the project's shared 2-CPU machine, load
average 2-3; every system run on each report in turn):

==================================================  ==========  ============  ===========  ============
decoding                                            s / report  chosen tok    ms / chosen  schema-valid
==================================================  ==========  ============  ===========  ============
free (schema-monitored, constrained retry if bad)   1.37        75 (+7 f.)    18.1         20/20
llama-cpp-python GBNF (``from_json_schema``)        5.41        103           52.5         15/20 (*)
llguidance token masks + fast-forward (**)          1.44        70 (+25 f.)   20.5         17/20 (*)
this module, as shipped (token healing)             1.17        58 (+28 f.)   20.3         20/20
this module without token healing (***)             0.93        38 (+46 f.)   24.5         20/20
raw ``Llama.eval`` of free's first-attempt tokens   1.02        55            18.7         -
==================================================  ==========  ============  ===========  ============

f. = forced tokens (written by the automaton, fed in the batch of the chosen token). (*) within 256 tokens:
the base model loops ("PAGAS 1000000…", "LOG-17-17-17…", 8 near-identical blockers) and nothing in a plain
JSON-Schema grammar bounds a string or ends a repetition. (**) ``pip install llguidance`` (1.9.1), not a
dependency: its masks cost 0.37 ms a step on the 262k vocabulary, so it runs at free-decoding speed, but it
still samples most of the keys and has no loop guards. (***) forcing every fixed byte makes the model
continue from token boundaries it never saw ('":' then '"' instead of '":"'), and the base model then writes
null where it would write a value: field accuracy 0.22 against 0.29 with token healing and 0.30 free, on the
same 20 reports (see ``reportx.prompts``). Token healing leaves the last forced token of each run of fixed text
to the model, which costs one decode per key and keeps the accuracy of free decoding.

So GBNF costs ~53 ms per chosen token against ~18 for free decoding, as the issue warned; this module
constrains at free-decoding cost per token (20 ms, the 2 ms being the forced tokens in the same batches) and
generates fewer tokens, so constrained extraction is faster than free extraction (and than the raw decode of
the free answer's tokens), and valid every time.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from reportx.extract.engine import ContextFull, Engine, Generation

# Nodes (compiled schema) ----------------------------------------------------------------------------------
# ("lit", bytes) | ("str", min_chars, max_bytes, max_chars) | ("num", integer, nonneg) | ("enum", (bytes, ...))
# ("cstr", first_bytes, rest_bytes, max_chars)   a string of ASCII characters from two sets (a simple pattern)
# ("arr", item, min_items, max_items) | ("obj", ((key, node), ...)) | ("union", (node, ...), {byte: node})

DEFAULT_MAX_STRING_BYTES = 240
DEFAULT_MAX_ITEMS = 8
MAX_INT_DIGITS = 12  # digits before any separator
MAX_GROUP_DIGITS = 3  # digits after "." or "," (cents, "4.500", "3,200", "1.125" hours)
MAX_GROUPS = 4
MAX_SAME_TOKEN = 12  # the same token this many times in a row may not follow once more

_DIGITS = frozenset(b"0123456789")
_NUMBER_START = frozenset(b"-0123456789")


class SchemaNotSupported(ValueError):
    """A JSON Schema construct the automaton cannot express."""


def compile_schema(schema: dict[str, Any]) -> tuple:
    """Compile a JSON Schema (the record's) into the automaton's node tree."""
    return _compile(schema, schema, depth=0)


def _resolve(node: dict, root: dict) -> dict:
    seen = 0
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        if not ref.startswith("#/"):
            raise SchemaNotSupported(f"only local $ref is supported, got {ref!r}")
        target: Any = root
        for part in ref[2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        extra = {k: v for k, v in node.items() if k != "$ref"}
        node = {**target, **extra}
        seen += 1
        if seen > 32:
            raise SchemaNotSupported("recursive $ref")
    return node


def _nonneg(node: dict) -> bool:
    for key in ("minimum", "ge", "exclusiveMinimum", "gt"):  # "ge": pydantic writes it for Annotated unions
        value = node.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
            return True
    return False


def _compile(node: Any, root: dict, depth: int) -> tuple:
    if depth > 24:
        raise SchemaNotSupported("schema nested too deeply (recursive?)")
    if node is True or node == {}:
        node = {"type": ["string", "number", "boolean", "null"]}
    if not isinstance(node, dict):
        raise SchemaNotSupported(f"unsupported schema node {node!r}")
    node = _resolve(node, root)
    if "const" in node:
        return ("enum", (json.dumps(node["const"], ensure_ascii=False).encode(),))
    if "enum" in node:
        values = [v for v in node["enum"]]
        allowed = node.get("type")
        if allowed is not None:  # an enum inside {"type": "string", "enum": [...]}: keep values of that type
            types = allowed if isinstance(allowed, list) else [allowed]
            values = [v for v in values if _json_type(v) in types or (_json_type(v) == "integer" and "number" in types)]
        return ("enum", tuple(json.dumps(v, ensure_ascii=False).encode() for v in values))
    for key in ("anyOf", "oneOf"):
        if key in node:
            base = {k: v for k, v in node.items() if k not in (key, "description", "title", "default")}
            branches = [_compile({**base, **b} if isinstance(b, dict) else b, root, depth + 1) for b in node[key]]
            return _union(branches)
    if "allOf" in node:
        parts = node["allOf"]
        if len(parts) != 1:
            raise SchemaNotSupported("allOf with more than one schema")
        return _compile({**{k: v for k, v in node.items() if k != "allOf"}, **_resolve(parts[0], root)}, root, depth + 1)
    types = node.get("type")
    if isinstance(types, list):
        return _union([_compile({**node, "type": t}, root, depth + 1) for t in types])
    if types is None:
        if "properties" in node:
            types = "object"
        elif "items" in node:
            types = "array"
        else:
            return _compile({**node, "type": ["string", "number", "boolean", "null"]}, root, depth + 1)
    if types == "null":
        return ("lit", b"null")
    if types == "boolean":
        return ("enum", (b"true", b"false"))
    if types == "string":
        charset = charset_pattern(node["pattern"]) if isinstance(node.get("pattern"), str) else None
        if charset is not None:
            limit = node.get("maxLength")
            return ("cstr", charset[0], charset[1], int(limit) if limit is not None else DEFAULT_MAX_STRING_BYTES)
        min_chars = int(node.get("minLength", 0))
        max_chars = node.get("maxLength")
        # maxLength counts characters; allow up to 4 bytes each so that any character fits.
        max_bytes = DEFAULT_MAX_STRING_BYTES if max_chars is None else max(1, int(max_chars)) * 4
        return ("str", min_chars, max(max_bytes, min_chars * 4), int(max_chars) if max_chars is not None else 1 << 30)
    if types in ("number", "integer"):
        return ("num", types == "integer", _nonneg(node))
    if types == "array":
        item = _compile(node.get("items", {}), root, depth + 1)
        lo = int(node.get("minItems", 0))
        hi = int(node.get("maxItems", max(DEFAULT_MAX_ITEMS, lo)))
        return ("arr", item, lo, hi)
    if types == "object":
        props = node.get("properties") or {}
        return ("obj", tuple((k, _compile(v, root, depth + 1)) for k, v in props.items()))
    raise SchemaNotSupported(f"unsupported type {types!r}")


_CLASS_PATTERN = re.compile(r"\^\[((?:\\.|[^\]\\])+)\](?:\[((?:\\.|[^\]\\])+)\]\*|(\+))\$")


def _char_class(body: str) -> frozenset[int] | None:
    """The bytes of a regex character class body ("A-Za-z0-9_\\-"), or None for anything but plain ASCII
    characters, ranges and escaped punctuation."""
    chars: list[str] = []
    i = 0
    while i < len(body):
        c = body[i]
        if c == "\\":
            if i + 1 >= len(body) or body[i + 1].isalnum():
                return None  # \d, \w, \s...: not written out here
            c = body[i + 1]
            i += 1
        elif c == "^" and i == 0:
            return None  # a negated class
        if i + 2 < len(body) and body[i + 1] == "-":
            end = body[i + 2]
            if end == "\\" or ord(end) < ord(c):
                return None
            chars.extend(chr(x) for x in range(ord(c), ord(end) + 1))
            i += 3
            continue
        chars.append(c)
        i += 1
    if not chars or any(ord(c) < 0x20 or ord(c) > 0x7E or c in '"\\' for c in chars):
        return None
    return frozenset(ord(c) for c in chars)


def charset_pattern(pattern: str) -> tuple[frozenset[int], frozenset[int]] | None:
    """(allowed first bytes, allowed later bytes) for a ``pattern`` of the form ``^[...][...]*$`` or ``^[...]+$``
    (the shape of an identifier, like the ticket ids of the built-in schema), or None for any other pattern.

    Only this shape is enforced while decoding: it is the one that keeps free text out of id-like fields and
    needs no regex engine in the automaton. Other patterns are left to validation after decoding.
    """
    m = _CLASS_PATTERN.fullmatch(pattern)
    if m is None:
        return None
    first = _char_class(m.group(1))
    rest = first if m.group(3) else _char_class(m.group(2))
    if first is None or rest is None:
        return None
    return first, rest


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "object" if isinstance(value, dict) else "array"


def first_bytes(node: tuple) -> frozenset[int]:
    kind = node[0]
    if kind == "lit":
        return frozenset(node[1][:1])
    if kind in ("str", "cstr"):
        return frozenset(b'"')
    if kind == "num":
        return frozenset(_DIGITS) if node[2] else _NUMBER_START
    if kind == "enum":
        return frozenset(v[0] for v in node[1] if v)
    if kind == "arr":
        return frozenset(b"[")
    if kind == "obj":
        return frozenset(b"{")
    if kind == "union":
        return frozenset(node[2])
    raise AssertionError(kind)


def _union(branches: list[tuple]) -> tuple:
    # Flatten nested unions, then route each first byte to one branch. Where branches overlap, the more
    # general one wins: a free string over a string enum, a number over an integer.
    flat: list[tuple] = []
    for b in branches:
        flat.extend(b[1] if b[0] == "union" else [b])
    rank = {"str": 3, "cstr": 3, "num": 2, "obj": 2, "arr": 2, "enum": 1, "lit": 0}
    route: dict[int, tuple] = {}
    for b in flat:
        for byte in first_bytes(b):
            current = route.get(byte)
            if current is None:
                route[byte] = b
            elif current[0] == "enum" and b[0] == "enum":
                merged = ("enum", tuple(dict.fromkeys(current[1] + b[1])))
                for k, v in route.items():
                    if v is current:
                        route[k] = merged
                route[byte] = merged
            elif rank[b[0]] > rank[current[0]] or (b[0] == "num" and current[0] == "num" and current[1]):
                route[byte] = b
    if len(flat) == 1:
        return flat[0]
    return ("union", tuple(flat), route)


# The automaton --------------------------------------------------------------------------------------------
# A state is a tuple of frames, the top last. Frames:
# ("L", bytes, pos)                      fixed text still to come
# ("V", node)                            a value not started yet
# ("S", chars, min_chars, max_bytes, nbytes, esc, cont, max_chars)   inside a string (esc: 0 none, 1 after \,
#                                        2-5 in \u hex digits; cont: UTF-8 continuation bytes still due)
# ("C", node, chars)                    inside a "cstr" string, after ``chars`` characters
# ("N", phase, integer, nonneg, run, seen_dot, groups)  a number: phases start, neg, zero, int (first digit
#                                        run), dot, frac (after "."), comma, grp (after ","); run = digits in
#                                        the current run. Digit groups ("3,200", "4.500") are read by
#                                        reportx.extract.parse.
# ("E", options, pos)                    an enum value
# ("A", item, count, lo, hi, phase)      an array; phase: open (after "["), next (after an item)

State = tuple


def initial_state(node: tuple) -> State:
    return (("V", node),)


def _optional_space(text: bytes, pos: int) -> bool:
    """A layout space of a literal (after ":" or ","), which compact JSON leaves out."""
    return text[pos] == 0x20 and pos > 0 and text[pos - 1] in (0x3A, 0x2C)


def step(state: State, b: int) -> State | None:
    """The state after byte ``b``, or None when the byte is not allowed."""
    while state:
        top = state[-1]
        kind = top[0]
        rest = state[:-1]
        if kind == "L":
            text, pos = top[1], top[2]
            if text[pos] != b:
                if not _optional_space(text, pos):
                    return None
                # A space of the canonical layout may be left out ('{"a":1,"b":2}' is as valid as json.dumps'
                # '{"a": 1, "b": 2}'); forcing writes the canonical one.
                state = rest + (("L", text, pos + 1),) if pos + 1 < len(text) else rest
                continue
            return rest + (("L", text, pos + 1),) if pos + 1 < len(text) else rest
        if kind == "V":
            node = top[1]
            nk = node[0]
            if nk == "union":
                chosen = node[2].get(b)
                if chosen is None:
                    return None
                state = rest + (("V", chosen),)
                continue
            if nk == "lit":
                state = rest + (("L", node[1], 0),)
                continue
            if nk == "str":
                if b != 0x22:
                    return None
                return rest + (("S", 0, node[1], node[2], 0, 0, 0, node[3]),)
            if nk == "cstr":
                return rest + (("C", node, 0),) if b == 0x22 else None
            if nk == "num":
                state = rest + (("N", "start", node[1], node[2], 0, False, 0),)
                continue
            if nk == "enum":
                state = rest + (("E", node[1], 0),)
                continue
            if nk == "arr":
                if b != 0x5B:
                    return None
                return rest + (("A", node[1], 0, node[2], node[3], "open"),)
            if nk == "obj":
                props = node[1]
                if not props:
                    state = rest + (("L", b"{}", 0),)
                    continue
                frames: list[tuple] = [("L", b"}", 0)]
                for i in range(len(props) - 1, -1, -1):
                    key, sub = props[i]
                    lead = "{" if i == 0 else ", "
                    frames.append(("V", sub))
                    frames.append(("L", (lead + json.dumps(key, ensure_ascii=False) + ": ").encode(), 0))
                state = rest + tuple(frames)
                continue
            raise AssertionError(nk)
        if kind == "S":
            _, chars, min_chars, max_bytes, nbytes, esc, cont, max_chars = top
            if cont:
                if b & 0xC0 != 0x80:
                    return None
                return rest + (("S", chars, min_chars, max_bytes, nbytes + 1, 0, cont - 1, max_chars),)
            if esc == 1:
                if b in b'"\\/bfnrt':
                    return rest + (("S", chars + 1, min_chars, max_bytes, nbytes + 2, 0, 0, max_chars),)
                if b == 0x75:  # u
                    return rest + (("S", chars, min_chars, max_bytes, nbytes + 2, 2, 0, max_chars),)
                return None
            if esc >= 2:
                if b not in b"0123456789abcdefABCDEF":
                    return None
                if esc == 5:
                    return rest + (("S", chars + 1, min_chars, max_bytes, nbytes + 1, 0, 0, max_chars),)
                return rest + (("S", chars, min_chars, max_bytes, nbytes + 1, esc + 1, 0, max_chars),)
            if b == 0x22:
                return rest if chars >= min_chars else None
            if nbytes >= max_bytes or chars >= max_chars or b < 0x20 or b == 0x7F:
                return None
            if b == 0x5C:
                return rest + (("S", chars, min_chars, max_bytes, nbytes, 1, 0, max_chars),)
            if b < 0x80:
                return rest + (("S", chars + 1, min_chars, max_bytes, nbytes + 1, 0, 0, max_chars),)
            if 0xC2 <= b <= 0xDF:
                need = 1
            elif 0xE0 <= b <= 0xEF:
                need = 2
            elif 0xF0 <= b <= 0xF4:
                need = 3
            else:
                return None
            if nbytes + need + 1 > max_bytes:
                return None
            return rest + (("S", chars + 1, min_chars, max_bytes, nbytes + 1, 0, need, max_chars),)
        if kind == "C":
            node, chars = top[1], top[2]
            if b == 0x22:
                return rest if chars else None
            allowed = node[2] if chars else node[1]
            return rest + (("C", node, chars + 1),) if b in allowed and chars < node[3] else None
        if kind == "N":
            _, phase, integer, nonneg, run, seen_dot, groups = top
            is_digit = 0x30 <= b <= 0x39
            if phase in ("start", "neg"):
                if b == 0x2D and phase == "start" and not nonneg:
                    return rest + (("N", "neg", integer, nonneg, 0, False, 0),)
                if is_digit:
                    return rest + (("N", "zero" if b == 0x30 else "int", integer, nonneg, 1, False, 0),)
                return None
            if phase == "dot":
                return rest + (("N", "frac", integer, nonneg, 1, True, groups),) if is_digit else None
            if phase == "comma":
                # "3," then a digit: a digit group ("3,200", "12.300,50"); anything else: the comma was the
                # enclosing object's or array's separator, so the number ended before it.
                if is_digit:
                    return rest + (("N", "grp", integer, nonneg, 1, seen_dot, groups + 1),)
                after_comma = step(rest, 0x2C)
                return None if after_comma is None else step(after_comma, b)
            # zero, int, frac, grp: the number may end here.
            limit = MAX_INT_DIGITS if phase == "int" else MAX_GROUP_DIGITS
            if is_digit and phase != "zero" and run < limit:
                return rest + (("N", phase, integer, nonneg, run + 1, seen_dot, groups),)
            if b == 0x2E and not seen_dot and phase in ("zero", "int", "grp"):
                return rest + (("N", "dot", integer, nonneg, 0, True, groups),)
            if b == 0x2C and phase != "zero" and groups < MAX_GROUPS and step(rest, 0x2C) is not None:
                # Only where the enclosing value could take the comma itself: otherwise a model that wants
                # to write something invalid after the number ("1.5, "ticket_id"" inside an object) would be
                # pushed into writing digits.
                return rest + (("N", "comma", integer, nonneg, 0, seen_dot, groups),)
            state = rest  # the number is complete: the byte belongs to what follows
            continue
        if kind == "E":
            options, pos = top[1], top[2]
            kept = tuple(o for o in options if len(o) > pos and o[pos] == b)
            if not kept:
                return None
            done = [o for o in kept if len(o) == pos + 1]
            if done and len(done) == len(kept):
                return rest
            if done:  # one option is a prefix of another (numeric enums): take the shortest
                return rest
            return rest + (("E", kept, pos + 1),)
        if kind == "A":
            _, item, count, lo, hi, phase = top
            if phase == "open":
                if b == 0x5D and lo == 0:
                    return rest
                if hi < 1:
                    return None
                state = rest + (("A", item, 1, lo, hi, "next"), ("V", item))
                continue
            # next
            if b == 0x5D and count >= lo:
                return rest
            if b == 0x2C and count < hi:
                return rest + (("A", item, count + 1, lo, hi, "next"), ("V", item), ("L", b", ", 1))
            return None
        raise AssertionError(kind)
    return None  # the value is complete: nothing more may follow


def step_bytes(state: State, data: bytes) -> State | None:
    for b in data:
        state = step(state, b)
        if state is None:
            return None
    return state


def is_complete(state: State) -> bool:
    """True when the value is finished (a trailing number counts as finished)."""
    while state:
        top = state[-1]
        if top[0] == "N" and top[1] in ("zero", "int", "frac", "grp"):
            state = state[:-1]
            continue
        return False
    return True


def _single_next(state: State) -> int | None:
    """The only byte allowed next, or None when there is a choice (or nothing)."""
    if not state:
        return None
    top = state[-1]
    kind = top[0]
    if kind == "L":
        return top[1][top[2]]
    if kind == "V":
        first = first_bytes(top[1])
        return next(iter(first)) if len(first) == 1 else None
    if kind == "S":
        _, chars, min_chars, max_bytes, nbytes, esc, cont, max_chars = top
        if not cont and not esc and (nbytes >= max_bytes or chars >= max_chars) and chars >= min_chars:
            return 0x22
        return None
    if kind == "C":
        return 0x22 if top[2] >= top[1][3] else None
    if kind == "E":
        options, pos = top[1], top[2]
        nxt = {o[pos] for o in options if len(o) > pos}
        return next(iter(nxt)) if len(nxt) == 1 and all(len(o) > pos for o in options) else None
    if kind == "A":
        _, item, count, lo, hi, phase = top
        if phase == "open":
            if hi < 1:
                return 0x5D
            if lo >= 1:
                first = first_bytes(item)
                return next(iter(first)) if len(first) == 1 else None
            return None
        if count >= hi:
            return 0x5D
        if count < lo:
            return 0x2C
        return None
    return None


def forced_bytes(state: State, compact: bool = True) -> tuple[bytes, State]:
    """The text the automaton allows no choice about from ``state``, and the state after it.

    With ``compact`` (the default: gold answers and few-shot examples are compact JSON, ``ReportSchema.dumps``)
    layout spaces are not written; without it the layout is ``json.dumps``' ``", "`` and ``": "``, for a model
    that writes spaces, and a trailing space is left to the model so that it writes it glued to the next value
    as it would naturally (``":`` then `` "`` or `` null``).
    """
    out = bytearray()
    cur = state
    while True:
        b = _single_next(cur)
        if b is None:
            break
        if compact and b == 0x20 and cur[-1][0] == "L" and _optional_space(cur[-1][1], cur[-1][2]):
            top = cur[-1]
            cur = cur[:-1] + (("L", top[1], top[2] + 1),) if top[2] + 1 < len(top[1]) else cur[:-1]
            continue
        nxt = step(cur, b)
        if nxt is None:  # pragma: no cover - _single_next only offers allowed bytes
            break
        out.append(b)
        cur = nxt
    text = bytes(out).rstrip(b" ")
    if len(text) != len(out):
        cur = step_bytes(state, text)
    return text, cur


def _closing_byte(state: State) -> int:
    top = state[-1]
    kind = top[0]
    if kind == "L":
        return top[1][top[2]]
    if kind == "V":
        node = top[1]
        if node[0] == "union":
            route = node[2]
            return 0x6E if 0x6E in route and route[0x6E][0] == "lit" else min(route)
        return _minimal_first(node)
    if kind == "S":
        _, chars, min_chars, _max, _n, esc, _cont, _max_chars = top
        if esc >= 2:
            return 0x30
        if esc == 1:
            return 0x22  # \" then the closing quote
        return 0x22 if chars >= min_chars else 0x78  # pad a too-short string with "x"
    if kind == "C":
        return 0x22 if top[2] else min(top[1][1])
    if kind == "N":  # a number that cannot end yet ("-", "4.", "3,")
        return 0x30
    if kind == "E":
        return top[1][0][top[2]]
    if kind == "A":
        _, item, count, lo, _hi, phase = top
        if count >= lo:
            return 0x5D
        return _minimal_first(item) if phase == "open" else 0x2C
    raise AssertionError(kind)


def _minimal_first(node: tuple) -> int:
    kind = node[0]
    if kind == "lit":
        return node[1][0]
    if kind == "enum":
        return node[1][0][0]
    if kind == "num":
        return 0x30
    return {"str": 0x22, "cstr": 0x22, "arr": 0x5B, "obj": 0x7B}[kind]


def closing_bytes(state: State) -> bytes:
    """The shortest obvious text that completes ``state`` into a valid value: strings and arrays closed,
    values not started written as null (or the smallest value of their type). Used only when the token
    budget runs out, so that constrained decoding always ends with schema-valid JSON."""
    out = bytearray()
    for _ in range(100_000):
        if not state:
            return bytes(out)
        top = state[-1]
        if top[0] == "N" and top[1] in ("zero", "int", "frac", "grp"):
            state = state[:-1]  # a number that may end here: end it
            continue
        b = _closing_byte(state)
        nxt = step(state, b)
        if nxt is None:  # pragma: no cover - _closing_byte only offers allowed bytes
            raise AssertionError(f"closing byte {b!r} refused")
        out.append(b)
        state = nxt
    raise AssertionError("closing did not terminate")  # pragma: no cover


# Decoding -------------------------------------------------------------------------------------------------


def _array_items(text: bytes) -> list[bytes]:
    """The complete items of the JSON array that ``text`` starts (at its "["), as byte strings."""
    items: list[bytes] = []
    depth = 0
    in_string = escape = False
    start = 1
    for i, b in enumerate(text):
        if in_string:
            if escape:
                escape = False
            elif b == 0x5C:
                escape = True
            elif b == 0x22:
                in_string = False
            continue
        if b == 0x22:
            in_string = True
        elif b in (0x5B, 0x7B):
            depth += 1
        elif b in (0x5D, 0x7D):
            depth -= 1
            if depth == 0:
                items.append(text[start:i].strip())
                break
        elif b == 0x2C and depth == 1:
            items.append(text[start:i].strip())
            start = i + 1
    return [it for it in items if it]


class Cursor:
    """The automaton's state plus the text so far, with two guards against greedy repetition loops: after
    three identical items in a row an array must end (two identical blockers can be real; more in a row is a
    small model repeating itself, which greedy decoding would otherwise continue up to ``maxItems``), and no
    token may follow itself more than ``MAX_SAME_TOKEN`` times in a row."""

    def __init__(self, node: tuple) -> None:
        self.state: State = initial_state(node)
        self.text = bytearray()
        self._arrays: dict[int, int] = {}  # stack index of an open array frame -> offset of its "["
        self._last = b""
        self._repeats = 0
        self.compact: bool | None = None  # the model's layout, seen at its first chosen value: '"a":1' or '"a": 1'

    def check(self, data: bytes) -> State | None:
        """The state after ``data``, or None when the schema (or a loop guard) refuses it."""
        if data == self._last and self._repeats >= MAX_SAME_TOKEN:
            return None  # "100000000000000…": the same token over and over is a loop, not a value
        new = step_bytes(self.state, data)
        if new is None or not self._arrays:
            return new
        i = max(self._arrays)
        old = self.state[i] if i < len(self.state) else None
        cur = new[i] if i < len(new) else None
        if (
            old is not None and cur is not None and old[0] == "A" and cur[0] == "A" and cur[1] is old[1]
            and cur[2] > old[2] >= 3
        ):
            items = _array_items(bytes(self.text[self._arrays[i]:]) + data)
            done = old[2]
            if len(items) >= done and items[done - 1] == items[done - 2] == items[done - 3]:
                return None
        return new

    def advance(self, data: bytes, new_state: State) -> None:
        """Take ``data`` (already checked) into the text."""
        if 0x5B in data or 0x5D in data:
            state = self.state
            for k, b in enumerate(data):
                state = step(state, b)
                if b == 0x5B and state and state[-1][0] == "A" and state[-1][5] == "open" and state[-1][2] == 0:
                    self._arrays[len(state) - 1] = len(self.text) + k
                for idx in [j for j in self._arrays if j >= len(state) or state[j][0] != "A"]:
                    del self._arrays[idx]
        if self.compact is None and data and self.text.endswith(b":"):
            self.compact = data[:1] != b" "
        self.text += data
        self.state = new_state
        self._repeats = self._repeats + 1 if data == self._last else 1
        self._last = data


@dataclass
class ConstrainedDecoder:
    """Greedy schema-constrained decoding on an :class:`Engine` for one compiled schema."""

    engine: Engine
    node: tuple
    max_tokens: int = 384
    heal: bool = True

    @classmethod
    def for_schema(cls, engine: Engine, json_schema: dict[str, Any], max_tokens: int = 384) -> "ConstrainedDecoder":
        return cls(engine, compile_schema(json_schema), max_tokens)

    def monitor(self) -> "Monitor":
        """A checker for free decoding: says at which token a free answer leaves the schema."""
        return Monitor(self)

    def _check(self, cursor: Cursor, token: int) -> State | None:
        if self.engine.is_end(token):
            return None
        data = self.engine.piece(token)
        if not data:
            return None
        return cursor.check(data)

    def _force(self, cursor: Cursor) -> list[int]:
        """Feed the cursor the forced text after its state; returns its tokens ([] when there is none)."""
        text, after = forced_bytes(cursor.state, compact=cursor.compact is not False)
        if not text:
            return []
        try:
            tokens = self.engine.tokenize(text.decode("utf-8"))
        except UnicodeDecodeError:  # the model stopped inside a character: let it finish that itself
            return []
        if self.engine.detokenize(tokens) != text:  # pragma: no cover - tokenisers that normalise text
            return []
        if after and self.heal:
            # Token healing: the last forced token is left to the model, which may write it merged with what
            # follows, as it would naturally ('":"' in one token rather than '":' then '"'). Forcing it would
            # push the model into a tokenisation it never saw, and it then prefers null to a value.
            tokens = tokens[:-1]
            text = self.engine.detokenize(tokens)
            after = step_bytes(cursor.state, text) if text else cursor.state
            if not text:
                return []
        cursor.advance(text, after)
        return tokens

    def _best(self, cursor: Cursor) -> tuple[int, State]:
        logits = self.engine.logits()
        token = int(np.argmax(logits))
        nxt = self._check(cursor, token)
        if nxt is not None:
            return token, nxt
        # Candidates in descending logit order, in growing windows; the whole vocabulary as the last resort.
        n = logits.shape[0]
        checked = 1
        for window in (64, 1024, n):
            window = min(window, n)
            if window <= checked:
                continue
            if window < n:
                top = np.argpartition(-logits, window - 1)[:window]
                order = top[np.argsort(-logits[top], kind="stable")]
            else:
                order = np.argsort(-logits, kind="stable")
            for t in order[checked:]:
                t = int(t)
                nxt = self._check(cursor, t)
                if nxt is not None:
                    return t, nxt
            checked = window
        raise _DeadEnd()  # pragma: no cover - every automaton state has a continuation

    def generate(self, prompt: list[int], replay: list[int] | None = None) -> Generation:
        """Constrained greedy decoding of one record after ``prompt``.

        ``replay``: tokens of an earlier free answer; the longest prefix the automaton accepts is kept (it is
        what constrained greedy decoding would also have chosen, less the forcing) and decoding resumes after it.
        """
        engine = self.engine
        start = time.perf_counter()
        cursor = Cursor(self.node)
        out: list[int] = []
        for t in replay or ():
            if not cursor.state:
                break
            nxt = self._check(cursor, t)
            if nxt is None:
                break
            out.append(t)
            cursor.advance(engine.piece(t), nxt)
        replayed = chosen = len(out)
        forced = 0
        evaluated = engine.prime(prompt + out)
        closed_early = False
        try:
            if cursor.state:
                pending = self._force(cursor)
                if pending:
                    forced += len(pending)
                    out.extend(pending)
                    engine.feed(pending)
            while cursor.state and chosen < self.max_tokens:
                token, nxt = self._best(cursor)
                cursor.advance(engine.piece(token), nxt)
                out.append(token)
                chosen += 1
                batch = [token]
                if cursor.state:
                    tail = self._force(cursor)
                    batch += tail
                    forced += len(tail)
                    out.extend(tail)
                if not cursor.state or _only_trailing_number(cursor.state):
                    break
                engine.feed(batch)
        except (ContextFull, _DeadEnd):
            pass
        raw = bytes(cursor.text)
        if cursor.state and not _only_trailing_number(cursor.state):
            # Budget (or context) exhausted: close the value with the least text, so that the answer is still
            # schema-valid JSON. Nothing more is evaluated, so the closing text is never tokenised for the model.
            raw, state = _trim_partial_char(raw, self.node)
            tail = closing_bytes(state)
            raw += tail
            forced += len(engine.tokenize(tail.decode("utf-8"))) if tail else 0
            closed_early = True
        return Generation(
            text=raw.decode("utf-8", errors="replace"),
            tokens=out,
            prompt_tokens=len(prompt),
            evaluated_tokens=evaluated,
            completion_tokens=chosen - replayed,
            forced_tokens=forced,
            seconds=time.perf_counter() - start,
            finished=True,
            extra={"replayed_tokens": replayed, "closed_early": closed_early},
        )


class Monitor:
    """Follows a free answer token by token through the automaton (and its loop guard); ``accept(token)`` is
    False at the first token no schema-valid answer could contain, so free decoding can stop there instead of
    generating a doomed tail, and the constrained retry resumes from that point."""

    def __init__(self, decoder: ConstrainedDecoder) -> None:
        self.decoder = decoder
        self.cursor = Cursor(decoder.node)
        self.rejected: bytes | None = None

    def accept(self, token: int) -> bool:
        if self.rejected is not None or not self.cursor.state:
            return False
        nxt = self.decoder._check(self.cursor, token)
        if nxt is None:
            self.rejected = self.decoder.engine.piece(token)
            return False
        self.cursor.advance(self.decoder.engine.piece(token), nxt)
        return True


def _trim_partial_char(raw: bytes, node: tuple) -> tuple[bytes, State]:
    """Drop an incomplete UTF-8 character at the end of ``raw`` and return the automaton's state after it."""
    for cut in range(0, 4):
        text = raw[: len(raw) - cut] if cut else raw
        try:
            text.decode("utf-8")
        except UnicodeDecodeError:
            continue
        state = step_bytes(initial_state(node), text)
        if state is not None:
            return text, state
    raise AssertionError("constrained output is not valid UTF-8")  # pragma: no cover


class _DeadEnd(Exception):
    """No token of the vocabulary continues the automaton's state."""


def _only_trailing_number(state: State) -> bool:
    # A top-level bare number has no closing byte; records are objects, so this only matters for odd schemas.
    return bool(state) and all(f[0] == "N" and f[1] in ("zero", "int", "frac", "grp") for f in state)
