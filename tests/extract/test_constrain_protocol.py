"""The decoder's side of the Constraint protocol: the shipped automaton behind it, and another constraint in its
place (no model needed: a byte-level stand-in for the engine)."""

from __future__ import annotations

import json

import pytest
from tests.extract.byte_engine import ByteEngine

from reportx.extract.constrain import ConstrainedDecoder, Constraint, Cursor, Forced, compile_schema
from reportx.schema import builtin_schema

NODE = compile_schema(builtin_schema().json_schema)


def test_the_automaton_is_a_constraint():
    cursor: Constraint = Cursor(NODE)
    forced = cursor.forced()
    assert forced.text == b'{"project_name":"' and not forced.ends and not cursor.finished
    cursor.advance(forced.text, forced.after)
    after = cursor.check(b"Alpha\xc3")  # stops inside a character
    assert after is not None
    cursor.advance(b"Alpha\xc3", after)
    assert not cursor.complete
    tail = cursor.close()
    assert cursor.finished and cursor.complete and cursor.text.endswith(tail)
    builtin_schema().validate(json.loads(cursor.text))
    assert json.loads(cursor.text)["project_name"] == "Alpha"


class Exactly:
    """A constraint of another kind: exactly one text, byte by byte (its state: how much of it is written)."""

    def __init__(self, target: bytes) -> None:
        self.target = target
        self.pos = 0

    @property
    def text(self) -> bytes:
        return self.target[: self.pos]

    @property
    def finished(self) -> bool:
        return self.pos == len(self.target)

    @property
    def complete(self) -> bool:
        return self.finished

    def check(self, data: bytes) -> int | None:
        return self.pos + len(data) if self.target.startswith(data, self.pos) else None

    def advance(self, data: bytes, after: int | None = None) -> None:
        self.pos = after if after is not None else self.pos + len(data)

    def forced(self) -> Forced[int]:
        return Forced(self.target[self.pos:], len(self.target), ends=True)

    def close(self) -> bytes:
        tail = self.target[self.pos:]
        self.pos = len(self.target)
        return tail


def test_another_constraint_plugs_into_the_decoder():
    class ExactlyDecoder(ConstrainedDecoder):
        def new_constraint(self) -> Constraint:
            return Exactly(b'{"a":1}')

    engine = ByteEngine(wants=b"ignored")
    gen = ExactlyDecoder(engine, NODE).generate([1, 2, 3])  # type: ignore[arg-type]
    assert gen.text == '{"a":1}' and gen.forced_tokens == 7 and gen.completion_tokens == 0


def test_the_decoder_writes_what_the_model_wants_within_the_schema():
    engine = ByteEngine(wants=b'{"project_name":"Zeta","status":"Azul"')
    engine.prompt = 3
    gen = ConstrainedDecoder(engine, NODE, max_tokens=64).generate([1, 2, 3])  # type: ignore[arg-type]
    record = json.loads(gen.text)
    builtin_schema().validate(record)
    # "Azul" is not in the enum: the model's "A" is taken, and the automaton writes the one value it can begin.
    assert record["project_name"] == "Zeta" and record["status"] == "Amarillo"


@pytest.mark.parametrize(("items", "tail"), [({"anyOf": [{"type": "string"}, {"type": "integer"}]}, b'""]}'),
                                            ({"anyOf": [{"type": "string"}, {"type": "null"}]}, b"null]}")])
def test_closing_an_array_that_needs_an_item_of_a_union(items, tail):
    # The token budget can run out right after "[" of an array with minItems 1: the shortest item closes it.
    from reportx.extract.constrain import closing_bytes, compile_schema, initial_state, step_bytes

    schema = {"type": "object", "properties": {"a": {"type": "array", "minItems": 1, "items": items}}, "required": ["a"]}
    state = step_bytes(initial_state(compile_schema(schema)), b'{"a":[')
    assert state is not None and closing_bytes(state) == tail
