"""The schema automaton behind constrained decoding, and lenient number parsing (no model needed)."""

from __future__ import annotations

import json

import pytest

from reportx.extract.constrain import (
    Cursor,
    charset_pattern,
    closing_bytes,
    compile_schema,
    forced_bytes,
    initial_state,
    step_bytes,
)
from reportx.extract.parse import loads_lenient, repair_numbers
from reportx.prompts import FEWSHOT_EXAMPLES
from reportx.schema import builtin_schema

NODE = compile_schema(builtin_schema().json_schema)


def accepts(text: str, node=NODE) -> bool:
    state = step_bytes(initial_state(node), text.encode("utf-8"))
    return state == ()


@pytest.mark.parametrize("record", [r for _, r in FEWSHOT_EXAMPLES])
def test_automaton_accepts_every_valid_record(record):
    assert accepts(json.dumps(record, ensure_ascii=False))


@pytest.mark.parametrize(
    "text",
    [
        '{"project_name": "", "status": null}',  # minLength 1
        '{"project_name": "A", "status": "Azul"}',  # not in the enum
        '{"project_name": "A", "client": null}',  # wrong key order / missing key
        '{"project_name": "A", "status": null, "client": null, "budget_used_eur": -3}',  # ge 0
        '{"project_name": "A\nB"}',  # raw control character in a string
        '{"project_name": "A", "status": null, "client": null, "budget_used_eur": "4500"}',
    ],
)
def test_automaton_refuses_invalid_prefixes(text):
    assert step_bytes(initial_state(NODE), text.encode()) is None


def test_fixed_text_is_forced_in_the_models_layout():
    text, state = forced_bytes(initial_state(NODE))
    assert text == b'{"project_name":"'  # compact, as gold answers are written
    after = step_bytes(state, b'Alpha",')
    assert forced_bytes(after)[0] == b'"status":'
    spaced, state = forced_bytes(initial_state(NODE), compact=False)
    assert spaced == b'{"project_name": "'
    after = step_bytes(state, b'Alpha",')
    assert forced_bytes(after, compact=False)[0] == b' "status":'  # the value's leading space is the model's


def test_both_layouts_are_accepted():
    record = FEWSHOT_EXAMPLES[2][1]
    assert accepts(json.dumps(record, ensure_ascii=False))
    assert accepts(json.dumps(record, ensure_ascii=False, separators=(",", ":")))
    assert accepts(builtin_schema().dumps(record))


@pytest.mark.parametrize(
    "prefix",
    ["", '{"project_name": "Sa', '{"project_name": "S", "status": "Am', '{"project_name": "S", "status": null, '
     '"client": null, "budget_used_eur": 4.', '{"project_name": "S", "status": null, "client": null, '
     '"budget_used_eur": 1,500, "key_milestone_completed": null, "blockers_today": [{"ticket_id": "a',
     '{"project_name": "S", "status": null, "client": null, "budget_used_eur": null, "key_milestone_completed": '
     'null, "blockers_today": [{"ticket_id": "'],
)
def test_closing_always_gives_a_schema_valid_record(prefix):
    state = step_bytes(initial_state(NODE), prefix.encode())
    full = prefix + closing_bytes(state).decode()
    builtin_schema().validate(loads_lenient(full))


BLOCKER_PREFIX = (
    '{"project_name":"A","status":null,"client":null,"budget_used_eur":null,"key_milestone_completed":null,'
    '"blockers_today":[{"ticket_id":'
)


@pytest.mark.parametrize(
    "ticket, allowed",
    [('"JIRA-482"', True), ('"9812"', True), ("null", True), ('"OPS_7/2.1"', True), ('"bug de login"', False),
     ('"#9812"', False), ('""', False), ('"-12"', False), ('"ñ1"', False), ('"A\\u0041"', False)],
)
def test_ticket_ids_follow_the_schema_pattern_while_decoding(ticket, allowed):
    # Free text in ticket_id used to pass the automaton and fail validation afterwards (an error record).
    text = BLOCKER_PREFIX + ticket + ',"delay_hours":2}],"next_step":null}'
    assert accepts(text) is allowed


UPPER, LOWER, DIGITS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz", "0123456789"


@pytest.mark.parametrize(
    "pattern, first, rest",
    [("^[a-c]+$", "abc", "abc"), ("^[A-Z][a-z0-9\\-]*$", UPPER, LOWER + DIGITS + "-"), ("^[\\-x.]+$", "-x.", "-x.")],
)
def test_identifier_patterns_become_byte_sets(pattern, first, rest):
    assert charset_pattern(pattern) == (frozenset(first.encode()), frozenset(rest.encode()))


@pytest.mark.parametrize("pattern", ["^\\d+$", "^[^a]+$", "^[a-z]{3}$", "[a-z]+", "^(ab|cd)$", "^[a-z]*$", "^[é]+$"])
def test_other_patterns_are_left_to_validation(pattern):
    assert charset_pattern(pattern) is None


def test_loop_guard_ends_an_array_after_three_identical_items():
    cursor = Cursor(NODE)
    head = (b'{"project_name": "S", "status": null, "client": null, "budget_used_eur": null, '
            b'"key_milestone_completed": null, "blockers_today": [')
    cursor.advance(head, cursor.check(head))
    item = b'{"ticket_id": "X-1", "delay_hours": 2}'
    for chunk in (item + b", ", item + b", ", item):
        state = cursor.check(chunk)
        assert state is not None
        cursor.advance(chunk, state)
    assert cursor.check(b", ") is None  # no fourth identical item in a row...
    assert cursor.check(b"]") is not None  # ...the array ends


def test_user_json_schema_features():
    schema = {
        "type": "object",
        "properties": {
            "site": {"type": "string", "maxLength": 5},
            "ok": {"type": "boolean"},
            "crew": {"type": "integer", "minimum": 0},
            "level": {"enum": ["low", "high", None]},
            "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 2},
            "where": {"type": "object", "properties": {"lat": {"type": ["number", "null"]}}},
        },
    }
    node = compile_schema(schema)
    good = {"site": "Nave2", "ok": True, "crew": 7, "level": None, "tags": ["a", "b"], "where": {"lat": -3.5}}
    assert accepts(json.dumps(good), node)
    for bad in ['{"site": "Nave 2"', '{"site": "N", "ok": yes', '{"site": "N", "ok": true, "crew": -1',
                '{"site": "N", "ok": true, "crew": 1, "level": "mid"',
                '{"site": "N", "ok": true, "crew": 1, "level": null, "tags": ["a", "b", "c"']:
        assert step_bytes(initial_state(node), bad.encode()) is None, bad


def test_digit_groups_are_read_by_the_money_convention():
    assert loads_lenient('{"a": 3,200, "b": 4.500, "c": 12.300,50, "d": 1.5, "e": 12300.5, "f": "3,200"}') == {
        "a": 3200, "b": 4500, "c": 12300.5, "d": 1.5, "e": 12300.5, "f": "3,200"}
    assert repair_numbers('{"a": [1, 2], "b": 0.75}') == '{"a": [1, 2], "b": 0.75}'
    with pytest.raises(ValueError):
        loads_lenient('{"a": 3,20,1}')
