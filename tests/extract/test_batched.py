"""Several reports in flight (reportx.extract.batched.BatchRunner), on a byte-level stand-in for the model whose
answer depends on the report in each sequence's prompt: no rounding, so batched answers must equal sequential ones
exactly, and any difference is a scheduling bug (a sequence given another's tokens, positions or logits)."""

from __future__ import annotations

import functools
import json

import pytest
from tests.extract.byte_engine import EchoEngine, echo_answer, echo_prompt

from reportx.extract.batched import BatchRunner
from reportx.extract.constrain import ConstrainedDecoder
from reportx.extract.engine import Feed, Prime, free_json, run_decoding

NAME_SCHEMA = {"type": "object", "properties": {"project_name": {"type": "string", "x-reportx-quote": True}},
               "required": ["project_name"], "additionalProperties": False}
REPORTS = ["Atenea va bien hoy.", "Zafiro: retraso de 2 h.", "Orion cerrado.", "Nexo sin novedades.",
           "Hermes listo para piloto.", "Campus abierto.", "Ñandú en verde.", "Delta parado por lluvia."]
PREFIX = 3  # the prompt's shared prefix: its first three tokens


def constrained_jobs(engine, reports=REPORTS):
    """A job maker per report (BatchRunner.run calls it; again to start the job afresh on the engine)."""
    decoder = ConstrainedDecoder.for_schema(engine, NAME_SCHEMA, max_tokens=64)
    return [functools.partial(decoder.decoding, echo_prompt(r), checkpoints=[PREFIX], source=r) for r in reports]


def sequentially(engine, makers):
    return [run_decoding(engine, make()) for make in makers]


@pytest.mark.parametrize("slots", [1, 3, 8, 20])
def test_batched_answers_equal_sequential_ones_in_input_order(slots):
    engine = EchoEngine()
    sequential = sequentially(engine, constrained_jobs(engine))
    runner = BatchRunner(engine, slots, n_threads=1)  # type: ignore[arg-type]
    batched = list(runner.run(constrained_jobs(engine)))
    assert [g.text for g in batched] == [g.text for g in sequential]
    assert [json.loads(g.text)["project_name"] for g in batched] == [r.split()[0] for r in REPORTS]
    assert [g.chosen for g in batched] == [g.chosen for g in sequential]  # confidences too
    assert [(g.prompt_tokens, g.completion_tokens, g.forced_tokens) for g in batched] == \
        [(g.prompt_tokens, g.completion_tokens, g.forced_tokens) for g in sequential]


def test_a_step_evaluates_every_report_in_flight_in_one_call_and_the_prefix_once():
    engine = EchoEngine()
    runner = BatchRunner(engine, 4, n_threads=1)  # type: ignore[arg-type]
    list(runner.run(constrained_jobs(engine)))
    calls = engine.made.calls
    prefix_calls = [c for c in calls if c[0][0] == runner.prefix_seq]
    assert len(prefix_calls) == 1 and prefix_calls[0] == [(runner.prefix_seq, 0, [1, 2, 3])]
    assert max(len(c) for c in calls) == 4  # four sequences' runs in one decode
    first_prompts = [c for c in calls if any(pos == PREFIX for _, pos, _ in c)][0]
    assert all(pos == PREFIX for _, pos, _ in first_prompts)  # each report's own tokens, after the shared prefix
    sequentially(engine, constrained_jobs(engine))
    assert runner.steps * 3 < engine.primes + engine.feeds  # ~ a quarter of the sequential decodes


def test_results_come_out_in_input_order_when_a_later_report_finishes_first():
    engine = EchoEngine()
    reports = ["Averyveryveryverylongprojectname hoy.", "X ok.", "Y ok."]
    out = list(BatchRunner(engine, 3, n_threads=1).run(constrained_jobs(engine, reports)))  # type: ignore[arg-type]
    assert [json.loads(g.text)["project_name"] for g in out] == ["Averyveryveryverylongprojectname", "X", "Y"]


def test_free_decoding_and_a_retry_prime_run_batched_too():
    engine = EchoEngine()
    decoder = ConstrainedDecoder.for_schema(engine, NAME_SCHEMA, max_tokens=64)

    def free_then_constrained(report):  # the extractor's two attempts: a free answer, then a constrained replay
        prompt = echo_prompt(report)
        free = yield from free_json(engine, prompt, 64, checkpoints=[PREFIX])
        constrained = yield from decoder.decoding(prompt, replay=free.tokens[:5], checkpoints=[PREFIX], source=report)
        return free.text, constrained.text, constrained.evaluated_tokens

    makers = [functools.partial(free_then_constrained, r) for r in REPORTS]
    sequential = sequentially(engine, makers)
    batched = list(BatchRunner(engine, 3, n_threads=1).run(makers))  # type: ignore[arg-type]
    assert [b[:2] for b in batched] == [s[:2] for s in sequential]
    assert all(free.encode() == echo_answer(r) for (free, _, _), r in zip(batched, REPORTS, strict=True))
    assert all(evaluated == 5 for _, _, evaluated in batched)  # the retry kept the prompt and evaluated the replay


def test_a_report_that_fills_its_context_is_closed_short_as_sequentially():
    reports = ["Averyveryveryverylongprojectname hoy.", "X ok."]
    limit = len(echo_prompt(reports[0])) + 12
    engine = EchoEngine(n_ctx=limit)
    sequential = sequentially(engine, constrained_jobs(engine, reports))
    batched = list(BatchRunner(engine, 2, n_threads=1).run(constrained_jobs(engine, reports)))  # type: ignore[arg-type]
    assert sequential[0].closed_early and [g.text for g in batched] == [g.text for g in sequential]


def test_a_failed_decode_reaches_every_job_of_that_step_and_the_rest_go_on():
    engine = EchoEngine()
    seen = []

    def job(report):
        try:
            reply = yield Prime(echo_prompt(report), (PREFIX,))
            reply = yield Feed([ord("{")])
        except RuntimeError as exc:
            seen.append(report)
            return f"error: {exc}"
        return f"ok {reply.room > 0}"

    runner = BatchRunner(engine, 2, n_threads=1)  # type: ignore[arg-type]
    results = runner.run(functools.partial(job, r) for r in REPORTS[:6])
    first = next(results)  # reports 1 and 2 are done, 3 and 4 ask for their prompts: make that decode fail
    engine.made.fail_at = len(engine.made.calls) + 1
    rest = list(results)
    assert first == "ok True" and rest[0] == "ok True"
    assert rest[1:3] == ["error: llama_decode returned 1"] * 2 and seen == REPORTS[2:4]
    assert rest[3:] == ["ok True"] * 2  # the next reports start afresh in the slots


def test_a_report_too_long_for_a_stream_is_extracted_on_the_engine_exactly_as_sequentially():
    engine = EchoEngine()
    reports = [REPORTS[0], "Largo " + "palabra " * 120, REPORTS[1]]
    sequential = sequentially(engine, constrained_jobs(engine, reports))
    runner = BatchRunner(engine, 2, n_threads=1, reserve=64)  # type: ignore[arg-type]
    primes = engine.primes
    batched = list(runner.run(constrained_jobs(engine, reports)))
    assert runner.stream == 512 and len(echo_prompt(reports[1])) + 64 > runner.stream
    assert runner.sequential == 1 and engine.primes == primes + 1
    assert [g.text for g in batched] == [g.text for g in sequential]
    assert json.loads(batched[1].text)["project_name"] == "Largo"


def test_a_job_whose_answer_outgrows_its_stream_is_extracted_again_on_the_engine_exactly_as_sequentially():
    engine = EchoEngine()
    reports = [REPORTS[0], "Proyecto" + "x" * 200 + " " + "palabra " * 35, REPORTS[1]]
    decoder = ConstrainedDecoder.for_schema(engine, NAME_SCHEMA, max_tokens=400)
    makers = [functools.partial(decoder.decoding, echo_prompt(r), checkpoints=[PREFIX], source=r) for r in reports]
    sequential = sequentially(engine, makers)
    runner = BatchRunner(engine, 2, n_threads=1, reserve=16)  # type: ignore[arg-type]
    primes = engine.primes
    batched = list(runner.run(makers))
    assert runner.stream == 512 and len(echo_prompt(reports[1])) + 16 <= runner.stream  # admitted to a stream...
    assert len(echo_prompt(reports[1])) + len(sequential[1].text) > runner.stream  # ...where its answer cannot fit
    assert runner.restarted == runner.sequential == 1 and engine.primes == primes + 1
    assert [g.text for g in batched] == [g.text for g in sequential]
    assert json.loads(batched[1].text)["project_name"] == reports[1].split()[0]


def test_a_job_with_nothing_to_decode_is_a_result_at_once():
    def nothing():
        return "empty"
        yield  # pragma: no cover - a generator that returns before its first request

    engine = EchoEngine()
    jobs = [nothing, *constrained_jobs(engine, REPORTS[:2]), nothing]
    out = list(BatchRunner(engine, 2, n_threads=1).run(jobs))  # type: ignore[arg-type]
    assert out[0] == "empty" and out[-1] == "empty" and json.loads(out[1].text)["project_name"] == "Atenea"


def test_slots_must_be_positive():
    with pytest.raises(ValueError, match="slots"):
        BatchRunner(EchoEngine(), 0, n_threads=1)  # type: ignore[arg-type]
