"""The byte-level pushdown automaton that runs a compiled schema (:mod:`reportx.extract.constrain.nodes`).

A state is a tuple of frames, the top last; the empty state means the value is complete and nothing more may
follow. :func:`step` takes one byte; :func:`forced_bytes` gives the text the state allows no choice about (what
the decoder forces instead of sampling); :func:`closing_bytes` the least text that completes the value (when
the token budget runs out).

It accepts the JSON text of a conforming value, keys in schema order, compact (``{"a":1,"b":[]}``, as
``ReportSchema.dumps`` writes gold answers) or with ``json.dumps``' default spaces after ``:`` and ``,``.
Numbers may carry digit-group separators (``3,200``, ``4.500``) as a model copying the report tends to write
them; :func:`reportx.extract.parse.loads_lenient` reads those by the product's money convention.

A quote (:class:`~reportx.extract.constrain.nodes.QuoteNode`, bound to the report's text by
:func:`~reportx.extract.constrain.nodes.bind_source`) is a string whose content must be a non-empty substring of
the report (:mod:`reportx.extract.constrain.quote`): the model quotes, the code normalises, and a misspelt copy
is impossible by construction; it starts and ends at word edges (never a fragment of a word). Its frame holds the
set of positions where the quote so far ends in the report; nothing in a quote is forced, and closing one early
finishes the word it is in (one that is empty writes the report's first quotable word).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Literal, NamedTuple

from reportx.extract.constrain.nodes import (
    ArrNode,
    EnumNode,
    LitNode,
    Node,
    NumNode,
    ObjNode,
    PatternStrNode,
    QuoteNode,
    StrNode,
    UnionNode,
    first_bytes,
)
from reportx.extract.constrain.quote import UNESCAPE
from reportx.extract.jsonscan import (
    BACKSLASH,
    CLOSE_BRACKET,
    COLON,
    COMMA,
    DIGITS,
    DOT,
    MINUS,
    OPEN_BRACE,
    OPEN_BRACKET,
    QUOTE,
    SPACE,
    ZERO,
)

MAX_INT_DIGITS = 12  # digits before any separator
MAX_GROUP_DIGITS = 3  # digits after "." or "," (cents, "4.500", "3,200", "1.125" hours)
MAX_GROUPS = 4

DEL = 0x7F  # the one ASCII control character above the space
ASCII_END = 0x80  # bytes from here on belong to multi-byte UTF-8 characters
UTF8_CONTINUATION_MASK, UTF8_CONTINUATION = 0xC0, 0x80  # a continuation byte is 10xxxxxx
# UTF-8 lead byte -> continuation bytes that follow it (C0, C1 and F5-FF never start a valid character).
_UTF8_CONTINUATIONS = {lead: need for need, leads in ((1, range(0xC2, 0xE0)), (2, range(0xE0, 0xF0)),
                                                       (3, range(0xF0, 0xF5))) for lead in leads}
_SIMPLE_ESCAPES = frozenset(b'"\\/bfnrt')  # what may follow a backslash, besides "u"
_UNICODE_ESCAPE = ord("u")
_HEX_DIGITS = frozenset(b"0123456789abcdefABCDEF")
_NULL_START = ord("n")
_PAD = ord("x")  # what pads a string that is too short to close
_ITEM_SEPARATOR = b", "


# Frames ---------------------------------------------------------------------------------------------------

# String escapes: none, right after a backslash, or in the four hex digits of a \u escape (FIRST_HEX..LAST_HEX).
NO_ESCAPE, AFTER_BACKSLASH, FIRST_HEX, LAST_HEX = 0, 1, 2, 5

# Number phases: start, neg (after "-"), zero (a leading "0"), int (the first digit run), dot (after "."),
# frac (after "." and a digit), comma (after ","), grp (a digit group after ","). Digit groups ("3,200",
# "4.500") are read by reportx.extract.parse.
NumPhase = Literal["start", "neg", "zero", "int", "dot", "frac", "comma", "grp"]
NUMBER_CAN_END: frozenset[str] = frozenset(("zero", "int", "frac", "grp"))
_DOT_MAY_FOLLOW: frozenset[str] = frozenset(("zero", "int", "grp"))

# Array phases: open (after "["), next (after an item).
ArrPhase = Literal["open", "next"]


class LitFrame(NamedTuple):
    """Fixed text still to come: ``text[pos:]``."""

    text: bytes
    pos: int


class ValueFrame(NamedTuple):
    """A value of ``node`` not started yet."""

    node: Node


class StrFrame(NamedTuple):
    """Inside a string of ``node``, after ``chars`` characters in ``nbytes`` bytes."""

    node: StrNode
    chars: int
    nbytes: int
    esc: int  # NO_ESCAPE, AFTER_BACKSLASH, or FIRST_HEX..LAST_HEX
    cont: int  # UTF-8 continuation bytes still due


class PatternStrFrame(NamedTuple):
    """Inside a string of a :class:`PatternStrNode`, after ``chars`` characters."""

    node: PatternStrNode
    chars: int


class QuoteFrame(NamedTuple):
    """Inside a quote of ``node``: ``ends``, the positions in the source where the ``nbytes`` bytes written so far
    (unescaped) end, as a bitset; ``esc``: right after a backslash."""

    node: QuoteNode
    ends: int
    nbytes: int
    esc: bool


class NumFrame(NamedTuple):
    """Inside a number; ``run``: digits in the current run, ``groups``: digit groups so far."""

    node: NumNode
    phase: NumPhase
    run: int
    seen_dot: bool
    groups: int


class EnumFrame(NamedTuple):
    """Inside an enum value: the ``options`` that still match, ``pos`` bytes in."""

    options: tuple[bytes, ...]
    pos: int


class ArrFrame(NamedTuple):
    """Inside an array of ``node``, ``n_items`` items started."""

    node: ArrNode
    n_items: int
    phase: ArrPhase


Frame = LitFrame | ValueFrame | StrFrame | PatternStrFrame | QuoteFrame | NumFrame | EnumFrame | ArrFrame
State = tuple[Frame, ...]


class _Again:
    """A frame's answer that the byte is not its own: step again from ``state`` (a space the compact layout
    leaves out, a value that opened, a number that ended)."""

    __slots__ = ("state",)

    def __init__(self, state: State) -> None:
        self.state = state


_Step = State | None | _Again


def initial_state(node: Node) -> State:
    return (ValueFrame(node),)


def step(state: State, b: int) -> State | None:
    """The state after byte ``b``, or None when the byte is not allowed."""
    while state:
        top = state[-1]
        result = _STEPS[type(top)](top, state[:-1], b)
        if not isinstance(result, _Again):
            return result
        state = result.state
    return None  # the value is complete: nothing more may follow


def step_bytes(state: State, data: bytes) -> State | None:
    for b in data:
        nxt = step(state, b)
        if nxt is None:
            return None
        state = nxt
    return state


def is_complete(state: State) -> bool:
    """True when the value is finished (a trailing number counts as finished)."""
    return all(isinstance(f, NumFrame) and f.phase in NUMBER_CAN_END for f in state)


# One byte, frame by frame ---------------------------------------------------------------------------------


def _optional_space(text: bytes, pos: int) -> bool:
    """A layout space of a literal (after ":" or ","), which compact JSON leaves out."""
    return text[pos] == SPACE and pos > 0 and text[pos - 1] in (COLON, COMMA)


def _past(rest: State, frame: LitFrame) -> State:
    """The state once the literal's next byte is written: the rest of the literal, or what follows it."""
    pos = frame.pos + 1
    return rest + (LitFrame(frame.text, pos),) if pos < len(frame.text) else rest


def _step_lit(top: LitFrame, rest: State, b: int) -> _Step:
    if top.text[top.pos] == b:
        return _past(rest, top)
    if not _optional_space(top.text, top.pos):
        return None
    # A space of the canonical layout may be left out ('{"a":1,"b":2}' is as valid as json.dumps'
    # '{"a": 1, "b": 2}'); forcing writes the canonical one.
    return _Again(_past(rest, top))


def _step_value(top: ValueFrame, rest: State, b: int) -> _Step:
    node = top.node
    if isinstance(node, UnionNode):
        chosen = node.route.get(b)
        return None if chosen is None else _Again(rest + (ValueFrame(chosen),))
    if isinstance(node, LitNode):
        return _Again(rest + (LitFrame(node.text, 0),))
    if isinstance(node, (StrNode, PatternStrNode, QuoteNode)):
        return rest + (_open_string(node),) if b == QUOTE else None
    if isinstance(node, NumNode):
        return _Again(rest + (NumFrame(node, "start", 0, False, 0),))
    if isinstance(node, EnumNode):
        return _Again(rest + (EnumFrame(node.options, 0),))
    if isinstance(node, ArrNode):
        return rest + (ArrFrame(node, 0, "open"),) if b == OPEN_BRACKET else None
    if isinstance(node, ObjNode):
        return _Again(rest + _object_frames(node))
    raise AssertionError(node)


def _open_string(node: StrNode | PatternStrNode | QuoteNode) -> Frame:
    """The frame of a string of ``node`` just opened."""
    if isinstance(node, StrNode):
        return StrFrame(node, 0, 0, NO_ESCAPE, 0)
    if isinstance(node, PatternStrNode):
        return PatternStrFrame(node, 0)
    if node.source is None:
        raise ValueError("a quote node is not bound to a source text: see reportx.extract.constrain.bind_source")
    return QuoteFrame(node, node.source.start, 0, False)


def _object_frames(node: ObjNode) -> State:
    """An object about to open, as frames (top last): each key as fixed text before its value, then "}"."""
    if not node.props:
        return (LitFrame(b"{}", 0),)
    frames: list[Frame] = [LitFrame(b"}", 0)]
    for i in range(len(node.props) - 1, -1, -1):
        prop = node.props[i]
        lead = "{" if i == 0 else ", "
        frames.append(ValueFrame(prop.node))
        frames.append(LitFrame((lead + json.dumps(prop.key, ensure_ascii=False) + ": ").encode(), 0))
    return tuple(frames)


def _step_str(top: StrFrame, rest: State, b: int) -> _Step:
    node = top.node
    if top.cont:
        if b & UTF8_CONTINUATION_MASK != UTF8_CONTINUATION:
            return None
        return rest + (StrFrame(node, top.chars, top.nbytes + 1, NO_ESCAPE, top.cont - 1),)
    if top.esc != NO_ESCAPE:
        return _step_escape(top, rest, b)
    if b == QUOTE:
        return rest if top.chars >= node.min_chars else None
    # Below the space: raw control characters, which JSON does not allow in a string.
    if top.nbytes >= node.max_bytes or top.chars >= node.max_chars or b < SPACE or b == DEL:
        return None
    if b == BACKSLASH:
        return rest + (StrFrame(node, top.chars, top.nbytes, AFTER_BACKSLASH, 0),)
    if b < ASCII_END:
        return rest + (StrFrame(node, top.chars + 1, top.nbytes + 1, NO_ESCAPE, 0),)
    need = _UTF8_CONTINUATIONS.get(b)
    if need is None or top.nbytes + need + 1 > node.max_bytes:
        return None
    return rest + (StrFrame(node, top.chars + 1, top.nbytes + 1, NO_ESCAPE, need),)


def _step_escape(top: StrFrame, rest: State, b: int) -> _Step:
    """A string byte after a backslash, or in the hex digits of a \\u escape."""
    node = top.node
    if top.esc == AFTER_BACKSLASH:
        if b in _SIMPLE_ESCAPES:
            return rest + (StrFrame(node, top.chars + 1, top.nbytes + 2, NO_ESCAPE, 0),)
        if b == _UNICODE_ESCAPE:
            return rest + (StrFrame(node, top.chars, top.nbytes + 2, FIRST_HEX, 0),)
        return None
    if b not in _HEX_DIGITS:
        return None
    if top.esc == LAST_HEX:
        return rest + (StrFrame(node, top.chars + 1, top.nbytes + 1, NO_ESCAPE, 0),)
    return rest + (StrFrame(node, top.chars, top.nbytes + 1, top.esc + 1, 0),)


def _step_pattern_str(top: PatternStrFrame, rest: State, b: int) -> _Step:
    node, chars = top.node, top.chars
    if b == QUOTE:
        return rest if chars else None
    allowed = node.rest if chars else node.first
    return rest + (PatternStrFrame(node, chars + 1),) if b in allowed and chars < node.max_chars else None


def _step_quote(top: QuoteFrame, rest: State, b: int) -> _Step:
    node = top.node
    source = node.source
    assert source is not None  # a QuoteFrame is only opened on a bound node
    if top.esc:
        b = UNESCAPE.get(b, -1)  # "\/" and "\u" are refused: -1 matches no byte
    elif b == QUOTE:
        return rest if top.nbytes and top.ends & source.edges else None  # non-empty, whole characters and words
    elif top.nbytes >= node.max_bytes and top.ends & source.edges:
        return None  # long enough: nothing new (the character, or the word, begun is finished first)
    elif b == BACKSLASH:
        return rest + (QuoteFrame(node, top.ends, top.nbytes, True),) if top.ends & source.escapable else None
    elif b < SPACE:
        return None  # a raw control character: JSON writes those escaped
    ends = source.match(top.ends, b, node.any_case)
    return rest + (QuoteFrame(node, ends, top.nbytes + 1, False),) if ends else None


def _step_num(top: NumFrame, rest: State, b: int) -> _Step:
    if top.phase in ("start", "neg"):
        if b == MINUS and top.phase == "start" and not top.node.nonneg:
            return rest + (NumFrame(top.node, "neg", 0, False, 0),)
        if b in DIGITS:
            return rest + (NumFrame(top.node, "zero" if b == ZERO else "int", 1, False, 0),)
        return None
    if top.phase == "dot":
        return rest + (NumFrame(top.node, "frac", 1, True, top.groups),) if b in DIGITS else None
    if top.phase == "comma":
        # "3," then a digit: a digit group ("3,200", "12.300,50"); anything else: the comma was the
        # enclosing object's or array's separator, so the number ended before it.
        if b in DIGITS:
            return rest + (NumFrame(top.node, "grp", 1, top.seen_dot, top.groups + 1),)
        after_comma = step(rest, COMMA)
        return None if after_comma is None else step(after_comma, b)
    return _step_number_end(top, rest, b)


def _step_number_end(top: NumFrame, rest: State, b: int) -> _Step:
    """A byte after a digit (phases zero, int, frac, grp): the number may go on, or end here."""
    phase = top.phase
    limit = MAX_INT_DIGITS if phase == "int" else MAX_GROUP_DIGITS
    if b in DIGITS and phase != "zero" and top.run < limit:
        return rest + (NumFrame(top.node, phase, top.run + 1, top.seen_dot, top.groups),)
    if b == DOT and not top.seen_dot and phase in _DOT_MAY_FOLLOW:
        return rest + (NumFrame(top.node, "dot", 0, True, top.groups),)
    if b == COMMA and phase != "zero" and top.groups < MAX_GROUPS and step(rest, COMMA) is not None:
        # Only where the enclosing value could take the comma itself: otherwise a model that wants
        # to write something invalid after the number ("1.5, "ticket_id"" inside an object) would be
        # pushed into writing digits.
        return rest + (NumFrame(top.node, "comma", 0, top.seen_dot, top.groups),)
    return _Again(rest)  # the number is complete: the byte belongs to what follows


def _step_enum(top: EnumFrame, rest: State, b: int) -> _Step:
    pos = top.pos
    kept = tuple(o for o in top.options if len(o) > pos and o[pos] == b)
    if not kept:
        return None
    if any(len(o) == pos + 1 for o in kept):
        # An option ends here; where one option is a prefix of another (numeric enums), the shortest is taken.
        return rest
    return rest + (EnumFrame(kept, pos + 1),)


def _step_arr(top: ArrFrame, rest: State, b: int) -> _Step:
    node = top.node
    if top.phase == "open":
        if b == CLOSE_BRACKET and node.min_items == 0:
            return rest
        if node.max_items < 1:
            return None
        return _Again(rest + (ArrFrame(node, 1, "next"), ValueFrame(node.item)))
    if b == CLOSE_BRACKET and top.n_items >= node.min_items:
        return rest
    if b == COMMA and top.n_items < node.max_items:
        # The comma is written; the separator's space stays optional.
        return rest + (ArrFrame(node, top.n_items + 1, "next"), ValueFrame(node.item), LitFrame(_ITEM_SEPARATOR, 1))
    return None


_STEPS: dict[type, Callable[..., _Step]] = {
    LitFrame: _step_lit,
    ValueFrame: _step_value,
    StrFrame: _step_str,
    PatternStrFrame: _step_pattern_str,
    QuoteFrame: _step_quote,
    NumFrame: _step_num,
    EnumFrame: _step_enum,
    ArrFrame: _step_arr,
}


# Forced text ----------------------------------------------------------------------------------------------


def _only(allowed: frozenset[int]) -> int | None:
    return next(iter(allowed)) if len(allowed) == 1 else None


def _single_next(state: State) -> int | None:
    """The only byte allowed next, or None when there is a choice (or nothing)."""
    if not state:
        return None
    top = state[-1]
    if isinstance(top, LitFrame):
        return top.text[top.pos]
    if isinstance(top, ValueFrame):
        return _only(first_bytes(top.node))
    if isinstance(top, StrFrame):
        node = top.node
        full = top.nbytes >= node.max_bytes or top.chars >= node.max_chars
        if not top.cont and top.esc == NO_ESCAPE and full and top.chars >= node.min_chars:
            return QUOTE
        return None
    if isinstance(top, PatternStrFrame):
        return QUOTE if top.chars >= top.node.max_chars else None
    if isinstance(top, EnumFrame):
        options, pos = top.options, top.pos
        nxt = {o[pos] for o in options if len(o) > pos}
        return next(iter(nxt)) if len(nxt) == 1 and all(len(o) > pos for o in options) else None
    if isinstance(top, ArrFrame):
        return _array_single_next(top)
    return None


def _array_single_next(top: ArrFrame) -> int | None:
    node = top.node
    if top.phase == "open":
        if node.max_items < 1:
            return CLOSE_BRACKET
        if node.min_items >= 1:
            return _only(first_bytes(node.item))
        return None
    if top.n_items >= node.max_items:
        return CLOSE_BRACKET
    if top.n_items < node.min_items:
        return COMMA
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
        top = cur[-1]
        if compact and b == SPACE and isinstance(top, LitFrame) and _optional_space(top.text, top.pos):
            cur = _past(cur[:-1], top)
            continue
        nxt = step(cur, b)
        if nxt is None:  # pragma: no cover - _single_next only offers allowed bytes
            break
        out.append(b)
        cur = nxt
    text = bytes(out).rstrip(b" ")
    if len(text) != len(out):
        after = step_bytes(state, text)
        assert after is not None  # a prefix of text the automaton allowed
        cur = after
    return text, cur


# Closing text ---------------------------------------------------------------------------------------------


def _closing_byte(state: State) -> int:
    top = state[-1]
    if isinstance(top, LitFrame):
        return top.text[top.pos]
    if isinstance(top, ValueFrame):
        return _minimal_first(top.node)
    if isinstance(top, StrFrame):
        if top.esc >= FIRST_HEX:
            return ZERO
        if top.esc == AFTER_BACKSLASH:
            return QUOTE  # \" then the closing quote
        return QUOTE if top.chars >= top.node.min_chars else _PAD  # pad a too-short string with "x"
    if isinstance(top, PatternStrFrame):
        return QUOTE if top.chars else min(top.node.first)
    if isinstance(top, QuoteFrame):  # the closing quote, or the report's next byte (its first, in an empty quote)
        assert top.node.source is not None
        return top.node.source.closing_byte(top.ends, top.nbytes, top.esc)
    if isinstance(top, NumFrame):  # a number that cannot end yet ("-", "4.", "3,")
        return ZERO
    if isinstance(top, EnumFrame):
        return top.options[0][top.pos]
    if isinstance(top, ArrFrame):
        if top.n_items >= top.node.min_items:
            return CLOSE_BRACKET
        return _minimal_first(top.node.item) if top.phase == "open" else COMMA
    raise AssertionError(top)


# The first byte of the smallest value of a node that is neither a literal, an enum nor a number.
_MINIMAL_FIRST: dict[type, int] = {StrNode: QUOTE, PatternStrNode: QUOTE, QuoteNode: QUOTE,
                                   ArrNode: OPEN_BRACKET, ObjNode: OPEN_BRACE}


def _minimal_first(node: Node) -> int:
    if isinstance(node, UnionNode):  # null if the union allows it, else the smallest first byte of a branch
        route = node.route
        return _NULL_START if _NULL_START in route and isinstance(route[_NULL_START], LitNode) else min(route)
    if isinstance(node, LitNode):
        return node.text[0]
    if isinstance(node, EnumNode):
        return node.options[0][0]
    if isinstance(node, NumNode):
        return ZERO
    return _MINIMAL_FIRST[type(node)]


def closing_bytes(state: State) -> bytes:
    """The shortest obvious text that completes ``state`` into a valid value: strings and arrays closed,
    values not started written as null (or the smallest value of their type). Used only when the token
    budget runs out, so that constrained decoding always ends with schema-valid JSON."""
    out = bytearray()
    for _ in range(100_000):
        if not state:
            return bytes(out)
        top = state[-1]
        if isinstance(top, NumFrame) and top.phase in NUMBER_CAN_END:
            state = state[:-1]  # a number that may end here: end it
            continue
        b = _closing_byte(state)
        nxt = step(state, b)
        if nxt is None:  # pragma: no cover - _closing_byte only offers allowed bytes
            raise AssertionError(f"closing byte {b!r} refused")
        out.append(b)
        state = nxt
    raise AssertionError("closing did not terminate")  # pragma: no cover
