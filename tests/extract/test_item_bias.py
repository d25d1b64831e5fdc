"""The constrained decoder's item bias: a list item whose logit is within the bias of ending the list is kept."""

from __future__ import annotations

import numpy as np
import pytest
from tests.extract.byte_engine import ByteEngine

from reportx.errors import ReportxError
from reportx.extract.config import ExtractConfig
from reportx.extract.constrain import ConstrainedDecoder
from reportx.extract.constrain.automaton import array_event, initial_state, step_bytes
from reportx.extract.constrain.compiler import compile_schema

LIST_SCHEMA = {
    "type": "object",
    "properties": {"xs": {"type": "array", "items": {"type": "string"}}, "s": {"type": "string"}},
    "required": ["xs", "s"],
}


def _state_after(text: bytes):
    state = step_bytes(initial_state(compile_schema(LIST_SCHEMA)), text)
    assert state is not None
    return state


def test_array_event_names_what_a_piece_does_to_a_list():
    assert array_event(_state_after(b'{"xs":["a"'), b"]") == "close"
    assert array_event(_state_after(b'{"xs":["a"'), b',"') == "item"
    assert array_event(_state_after(b'{"xs":'), b"[]") == "close"  # an empty list, opened and closed in one piece
    assert array_event(_state_after(b'{"xs":'), b"[") is None  # opened, nothing decided yet
    assert array_event(_state_after(b'{"xs":['), b'"') == "item"
    assert array_event(_state_after(b'{"xs":[],"s":"a'), b"],") is None  # text inside a string
    assert array_event(_state_after(b'{"xs":["a"'), b"x") is None  # not allowed at all


class TwoReadings(ByteEngine):
    """A model with two answers in mind: ``main`` (its favourite at every byte, logit 10) and ``alt`` (logit 8
    where it goes on from the text so far)."""

    def __init__(self, main: bytes, alt: bytes) -> None:
        super().__init__(main, alt, prompt=3)

    def logits(self) -> np.ndarray:
        logits = np.zeros(257, dtype=np.float32)
        text = bytes(self.seq[self.prompt:])
        for answer, logit in ((self.fallback, 8.0), (self.wants, 10.0)):
            if answer.startswith(text) and len(text) < len(answer):
                logits[answer[len(text)]] = logit
        logits[256] = 5.0
        return logits


def _decode(wants: bytes, fallback: bytes, bias: float) -> str:
    engine = TwoReadings(wants, fallback)
    decoder = ConstrainedDecoder.for_schema(engine, LIST_SCHEMA, max_tokens=64, item_bias=bias)  # type: ignore[arg-type]
    return decoder.generate([1, 2, 3]).text


ONE = b'{"xs":["a"],"s":"b"}'
TWO = b'{"xs":["a","c"],"s":"b"}'


@pytest.mark.parametrize(("bias", "expected"), [(0.0, ONE), (1.0, ONE), (3.0, TWO)])
def test_a_second_item_within_the_bias_of_ending_the_list_is_kept(bias, expected):
    # The model ends the list after "a" (logit 10) but also sees a second item (logit 8): a margin of 2.
    assert _decode(ONE, TWO, bias) == expected.decode()


def test_a_negative_bias_ends_a_list_the_model_would_continue():
    assert _decode(TWO, ONE, 0.0) == TWO.decode()
    assert _decode(TWO, ONE, -3.0) == ONE.decode()


def test_an_empty_list_gets_its_first_item_within_the_bias():
    empty = b'{"xs":[],"s":"b"}'
    assert _decode(empty, ONE, 0.0) == empty.decode()
    assert _decode(empty, ONE, 3.0) == ONE.decode()


def test_the_bias_does_not_touch_choices_that_are_not_about_a_list():
    # A string the model would end early ("b" vs "bd"): no list is decided there, the bias changes nothing.
    assert _decode(ONE, b'{"xs":["a"],"s":"bd"}', 5.0) == ONE.decode()


def test_item_bias_is_a_checked_extraction_option():
    assert ExtractConfig.make(item_bias=1.5).item_bias == 1.5
    with pytest.raises(ReportxError, match="--item-bias must be between"):
        ExtractConfig.make(item_bias=100)
