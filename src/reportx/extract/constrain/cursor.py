"""The schema automaton as a :class:`~reportx.extract.constrain.protocol.Constraint`, with two loop guards."""

from __future__ import annotations

from reportx.extract.constrain.automaton import (
    ArrFrame,
    State,
    closing_bytes,
    forced_bytes,
    initial_state,
    is_complete,
    step,
    step_bytes,
)
from reportx.extract.constrain.nodes import Node, bind_source
from reportx.extract.constrain.protocol import Forced
from reportx.extract.jsonscan import CLOSE_BRACKET, CLOSERS, COMMA, OPEN_BRACKET, OPENERS, QUOTE, string_end

MAX_SAME_TOKEN = 12  # the same token this many times in a row may not follow once more
SAME_ITEMS = 3  # identical items in a row after which an array must end


def _array_items(text: bytes) -> list[bytes]:
    """The complete items of the JSON array that ``text`` starts (at its "["), as byte strings."""
    items: list[bytes] = []
    depth = 0
    start = 1
    i = 0
    while i < len(text):
        b = text[i]
        if b == QUOTE:
            i = string_end(text, i)
            continue
        if b in OPENERS:
            depth += 1
        elif b in CLOSERS:
            depth -= 1
            if depth == 0:
                items.append(text[start:i].strip())
                break
        elif b == COMMA and depth == 1:
            items.append(text[start:i].strip())
            start = i + 1
        i += 1
    return [it for it in items if it]


class Cursor:
    """The automaton's state plus the text so far, with two guards against greedy repetition loops: after
    three identical items in a row an array must end (two identical blockers can be real; more in a row is a
    small model repeating itself, which greedy decoding would otherwise continue up to ``maxItems``), and no
    token may follow itself more than ``MAX_SAME_TOKEN`` times in a row.

    ``source``: the report's text, which the schema's quote fields must quote (see
    :mod:`reportx.extract.constrain.quote`); required when the schema has any (ValueError without it), ignored
    otherwise."""

    def __init__(self, node: Node, source: str | None = None) -> None:
        self.node = bind_source(node, source)
        self.state: State = initial_state(self.node)
        self._text = bytearray()
        self._arrays: dict[int, int] = {}  # stack index of an open array frame -> offset of its "["
        self._last = b""
        self._repeats = 0
        self.compact: bool | None = None  # the model's layout, seen at its first chosen value: '"a":1' or '"a": 1'

    @property
    def text(self) -> bytes:
        return bytes(self._text)

    @property
    def finished(self) -> bool:
        return not self.state

    @property
    def complete(self) -> bool:
        return is_complete(self.state)

    def check(self, data: bytes) -> State | None:
        """The state after ``data``, or None when the schema (or a loop guard) refuses it."""
        if data == self._last and self._repeats >= MAX_SAME_TOKEN:
            return None  # "100000000000000…": the same token over and over is a loop, not a value
        new = step_bytes(self.state, data)
        if new is None or not self._arrays:
            return new
        return None if self._repeats_an_item(new, data) else new

    def _repeats_an_item(self, new: State, data: bytes) -> bool:
        """Whether ``data`` (leading to ``new``) starts another item of the innermost open array after
        ``SAME_ITEMS`` identical ones in a row."""
        i = max(self._arrays)
        old = self.state[i] if i < len(self.state) else None
        cur = new[i] if i < len(new) else None
        if not (
            isinstance(old, ArrFrame) and isinstance(cur, ArrFrame) and cur.node.item is old.node.item
            and cur.n_items > old.n_items >= SAME_ITEMS
        ):
            return False
        items = _array_items(bytes(self._text[self._arrays[i]:]) + data)
        done = old.n_items
        return len(items) >= done and items[done - 1] == items[done - 2] == items[done - 3]

    def advance(self, data: bytes, after: State | None = None) -> None:
        """Take ``data`` (already checked) into the text."""
        if after is None:
            after = step_bytes(self.state, data)
            if after is None:
                raise ValueError(f"{data!r} is not allowed here")
        if OPEN_BRACKET in data or CLOSE_BRACKET in data:
            self._track_arrays(data)
        if self.compact is None and data and self._text.endswith(b":"):
            self.compact = data[:1] != b" "
        self._text += data
        self.state = after
        self._repeats = self._repeats + 1 if data == self._last else 1
        self._last = data

    def _track_arrays(self, data: bytes) -> None:
        """Note where arrays open in ``data``, and forget those it closes (for the identical-items guard)."""
        state = self.state
        for k, b in enumerate(data):
            nxt = step(state, b)
            assert nxt is not None  # data was checked
            state = nxt
            top = state[-1] if state else None
            if b == OPEN_BRACKET and isinstance(top, ArrFrame) and top.phase == "open" and top.n_items == 0:
                self._arrays[len(state) - 1] = len(self._text) + k
            for idx in [j for j in self._arrays if j >= len(state) or not isinstance(state[j], ArrFrame)]:
                del self._arrays[idx]

    def forced(self) -> Forced[State]:
        text, after = forced_bytes(self.state, compact=self.compact is not False)
        return Forced(text, after, ends=not after)

    def close(self) -> bytes:
        text, state = _trim_partial_char(bytes(self._text), self.node)
        tail = closing_bytes(state)
        self._text = bytearray(text + tail)
        self.state = ()
        return tail


def _trim_partial_char(raw: bytes, node: Node) -> tuple[bytes, State]:
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
