"""Greedy constrained decoding on an :class:`~reportx.extract.engine.Engine`, and the monitor of free decoding.

The decoder sees its constraint only through :class:`~reportx.extract.constrain.protocol.Constraint`; the
one it makes by default is the schema automaton (:class:`~reportx.extract.constrain.cursor.Cursor`).

Quote fields (``"x-reportx-quote": true`` in the schema, :mod:`reportx.extract.constrain.quote`) must be exact
quotes of the report: :meth:`ConstrainedDecoder.generate` and :meth:`ConstrainedDecoder.monitor` then take the
report's text as ``source``. The model quotes, the code normalises: a misspelt copy is impossible by construction.
"""

from __future__ import annotations

import time
from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from reportx.extract.constrain.compiler import Chooser, compile_schema
from reportx.extract.constrain.cursor import Cursor
from reportx.extract.constrain.nodes import Node, has_quotes
from reportx.extract.constrain.protocol import Constraint
from reportx.extract.engine import (
    ChosenToken,
    ContextFull,
    Decoded,
    Decoding,
    Engine,
    Feed,
    Generation,
    Prime,
    Request,
    run_decoding,
    token_probability,
)

# Candidates are checked in descending logit order, in windows of these sizes, then the whole vocabulary.
CANDIDATE_WINDOWS = (64, 1024)


class _DeadEnd(Exception):
    """No token of the vocabulary continues the automaton's state."""


@dataclass
class _Tally:
    """The tokens of one generation so far, and how many the model chose and the constraint forced."""

    tokens: list[int] = field(default_factory=list)
    chosen: int = 0
    forced: int = 0
    probabilities: list[ChosenToken] = field(default_factory=list)  # per chosen token, as Generation.chosen


@dataclass
class ConstrainedDecoder:
    """Greedy schema-constrained decoding on an :class:`Engine` for one compiled schema."""

    engine: Engine
    node: Node
    max_tokens: int = 384
    heal: bool = True

    @classmethod
    def for_schema(cls, engine: Engine, json_schema: dict[str, Any], max_tokens: int = 384,
                   choices: Mapping[str, Chooser] | None = None) -> ConstrainedDecoder:
        """The decoder of a JSON Schema; ``choices``: see :func:`compile_schema`."""
        return cls(engine, compile_schema(json_schema, choices), max_tokens)

    @property
    def needs_source(self) -> bool:
        """Whether the schema has quote fields, so that decoding needs the report's text (``source=``)."""
        return has_quotes(self.node)

    def new_constraint(self, source: str | None = None) -> Constraint[Any]:
        """A fresh constraint for one answer: the schema automaton with its loop guards, its quote fields bound to
        ``source`` (the report's text; ValueError without it when the schema has quote fields). A subclass may
        return any other :class:`Constraint` (another engine's)."""
        return Cursor(self.node, source)

    def _fresh(self, source: str | None) -> Constraint[Any]:
        # Without a source, called as before quotes existed, so that a subclass's new_constraint(self) still works.
        return self.new_constraint() if source is None else self.new_constraint(source)

    def monitor(self, source: str | None = None) -> Monitor:
        """A checker for free decoding: says at which token a free answer leaves the schema (or, in a quote field,
        the report's text: ``source``)."""
        return Monitor(self, source)

    def _check(self, constraint: Constraint[Any], token: int) -> Any | None:
        if self.engine.is_end(token):
            return None
        data = self.engine.piece(token)
        if not data:
            return None
        return constraint.check(data)

    def _force(self, constraint: Constraint[Any]) -> list[int]:
        """Feed the constraint the forced text after its state; returns its tokens ([] when there is none)."""
        forced = constraint.forced()
        if not forced.text:
            return []
        try:
            tokens = self.engine.tokenize(forced.text.decode("utf-8"))
        except UnicodeDecodeError:  # the model stopped inside a character: let it finish that itself
            return []
        if self.engine.detokenize(tokens) != forced.text:  # pragma: no cover - tokenisers that normalise text
            return []
        if forced.ends or not self.heal:
            constraint.advance(forced.text, forced.after)
            return tokens
        # Token healing: the last forced token is left to the model, which may write it merged with what
        # follows, as it would naturally ('":"' in one token rather than '":' then '"'). Forcing it would
        # push the model into a tokenisation it never saw, and it then prefers null to a value.
        tokens = tokens[:-1]
        text = self.engine.detokenize(tokens)
        if not text:
            return []
        constraint.advance(text)
        return tokens

    def _best(self, constraint: Constraint[Any], logits: np.ndarray) -> tuple[int, Any, float]:
        """The allowed token of highest logit, the constraint's state after it, and its probability under the
        model's unmasked distribution (low when the constraint overrode the model's favourite)."""
        token, nxt = self._allowed(constraint, logits)
        return token, nxt, token_probability(logits, token)

    def _allowed(self, constraint: Constraint[Any], logits: np.ndarray) -> tuple[int, Any]:
        token = int(np.argmax(logits))
        nxt = self._check(constraint, token)
        if nxt is not None:
            return token, nxt
        # Candidates in descending logit order, in growing windows; the whole vocabulary as the last resort.
        n = logits.shape[0]
        checked = 1
        for window in (*CANDIDATE_WINDOWS, n):
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
                nxt = self._check(constraint, t)
                if nxt is not None:
                    return t, nxt
            checked = window
        raise _DeadEnd()  # pragma: no cover - every automaton state has a continuation

    def generate(self, prompt: list[int], replay: list[int] | None = None,
                 checkpoints: Sequence[int] = (), source: str | None = None) -> Generation:
        """Constrained greedy decoding of one record after ``prompt``: :meth:`decoding` on the engine's one sequence.

        ``replay``: tokens of an earlier free answer; the longest prefix the automaton accepts is kept (it is
        what constrained greedy decoding would also have chosen, less the forcing) and decoding resumes after it.
        ``checkpoints``: see :meth:`reportx.extract.engine.Engine.prime`; the end of ``prompt`` is one too, so a
        replay evaluates only the kept tokens.
        ``source``: the report's text, which the schema's quote fields (``"x-reportx-quote": true``) must quote
        exactly; required when the schema has any (ValueError), ignored otherwise.
        """
        return run_decoding(self.engine, self.decoding(prompt, replay, checkpoints, source))

    def decoding(self, prompt: list[int], replay: list[int] | None = None,
                 checkpoints: Sequence[int] = (), source: str | None = None) -> Decoding:
        """:meth:`generate` as a coroutine (see :mod:`reportx.extract.engine`), for a runner of many at once."""
        start = time.perf_counter()
        constraint = self._fresh(source)
        tally = _Tally(tokens=self._replay(constraint, replay or []))
        replayed = tally.chosen = len(tally.tokens)
        reply = yield Prime(prompt + tally.tokens, (*checkpoints, len(prompt)))
        evaluated = reply.evaluated
        try:
            yield from self._decode(constraint, tally, reply)
        except (ContextFull, _DeadEnd):
            pass
        closed_early = not constraint.complete
        if closed_early:
            # Budget (or context) exhausted: close the value with the least text, so that the answer is still
            # schema-valid JSON. Nothing more is evaluated, so the closing text is never tokenised for the model.
            tail = constraint.close()
            tally.forced += len(self.engine.tokenize(tail.decode("utf-8"))) if tail else 0
        return Generation(
            text=constraint.text.decode("utf-8", errors="replace"),
            tokens=tally.tokens,
            prompt_tokens=len(prompt),
            evaluated_tokens=evaluated,
            completion_tokens=tally.chosen - replayed,
            forced_tokens=tally.forced,
            seconds=time.perf_counter() - start,
            finished=True,
            replayed_tokens=replayed, closed_early=closed_early, chosen=tally.probabilities,
        )

    def _replay(self, constraint: Constraint[Any], replay: list[int]) -> list[int]:
        """Take the longest prefix of ``replay`` the constraint accepts; returns it."""
        kept: list[int] = []
        for t in replay:
            if constraint.finished:
                break
            nxt = self._check(constraint, t)
            if nxt is None:
                break
            kept.append(t)
            constraint.advance(self.engine.piece(t), nxt)
        return kept

    def _decode(self, constraint: Constraint[Any], tally: _Tally, reply: Decoded) -> Generator[Request, Decoded, None]:
        """Choose and force tokens until the value is complete or ``max_tokens`` are chosen. The model sees one
        batch per chosen token: that token and the forced text after it."""
        engine = self.engine
        if not constraint.finished:
            pending = self._force(constraint)
            if pending:
                tally.forced += len(pending)
                tally.tokens.extend(pending)
                reply = yield Feed(pending)
        while not constraint.finished and tally.chosen < self.max_tokens:
            token, nxt, probability = self._best(constraint, reply.logits)
            start = len(constraint.text)
            constraint.advance(engine.piece(token), nxt)
            tally.probabilities.append(ChosenToken(start, len(constraint.text), probability))
            tally.tokens.append(token)
            tally.chosen += 1
            batch = [token]
            if not constraint.finished:
                tail = self._force(constraint)
                batch += tail
                tally.forced += len(tail)
                tally.tokens.extend(tail)
            if constraint.complete:
                break
            reply = yield Feed(batch)


class Monitor:
    """Follows a free answer token by token through the automaton (and its loop guard); ``accept(token)`` is
    False at the first token no schema-valid answer could contain, so free decoding can stop there instead of
    generating a doomed tail, and the constrained retry resumes from that point."""

    def __init__(self, decoder: ConstrainedDecoder, source: str | None = None) -> None:
        self.decoder = decoder
        self.cursor = decoder._fresh(source)
        self.rejected: bytes | None = None

    def accept(self, token: int) -> bool:
        if self.rejected is not None or self.cursor.finished:
            return False
        nxt = self.decoder._check(self.cursor, token)
        if nxt is None:
            self.rejected = self.decoder.engine.piece(token)
            return False
        self.cursor.advance(self.decoder.engine.piece(token), nxt)
        return True
