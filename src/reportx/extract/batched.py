"""Several reports in flight at once: continuous batching of extraction's decodings on one model.

Decoding one token at a time leaves most of a CPU's work unused: every ``llama_decode`` reads all of the model's
weights (the output head, 262,144 rows of Q8_0, is 73% of the default model's bytes) for one token. With ``slots``
reports in flight, each step evaluates one token run per report (a chosen token and the text the constraint forces
after it, or a report's own prompt tokens) in a single ``llama_decode`` with logits only after each run's last
token, so the weights are read once for all of them (measured in ``docs/extraction-speed.md``). A finished report's
slot takes the next report (continuous batching).

The decodings are the same code as sequential extraction's (the coroutines of :mod:`reportx.extract.engine`):
only who evaluates their requests changes. Each sequence has a KV stream of its own (``kv_unified`` off: measured
faster than one shared cache, where every token attends over every report's cells, masked); the shared prompt
prefix is evaluated once, in a batch of its own as sequential extraction does, and copied into each report's
stream. A stream holds the prefix, a report's prompt and the cells its answer is expected to take (``reserve``):
512 cells for the default model (9 MB of KV cache each; 1024 before, whose cells were never reached). A
report too long for a stream, or whose answer outgrows it (rare: a longer answer than the reserve after a long
prompt), is extracted again from the start on the engine's own context, sequentially, while the others wait: its
record is exactly the sequential one.

Records are the sequential ones, bit for bit: llama.cpp runs batch-invariant (:mod:`reportx.llamacpp`: a token's
logits do not depend on the batch it is decoded in), so a report's record does not depend on its neighbours, on
``slots`` or on threads (tests/extract/test_batched_model.py). Results come out in input order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from reportx.extract.engine import ContextFull, Decoded, Engine, Job, Prime, Request, run_decoding
from reportx.llamacpp import SequenceBatch

T = TypeVar("T")


@dataclass
class _Slot:
    """One sequence of the batch context and the job decoding in it."""

    seq: int
    job: Job[Any] | None = None
    make: Callable[[], Job[Any]] | None = None  # makes the job again, to start it afresh on the engine
    order: int = -1  # the job's place in the input
    held: list[int] = field(default_factory=list)  # tokens in the sequence
    run: tuple[int, list[int]] | None = None  # (first position, tokens) to evaluate this step
    evaluated: int = 0  # prompt tokens the pending Prime evaluates


class BatchRunner:
    """Runs extraction jobs (coroutines yielding :class:`Prime` / :class:`Feed`) ``slots`` at a time on ``engine``'s
    model, and yields their results in input order.

    ``reserve``: KV cells a job is expected to need beyond its prompt (its answer's tokens, chosen and forced); each
    sequence's stream holds the shared prefix, ``reserve`` and 256 more (a report's own prompt tokens), rounded up to
    a multiple of 256. A prompt that leaves less than ``reserve`` of its stream, and a job whose answer outgrows it,
    run on the engine's own context instead (:attr:`sequential`, :attr:`restarted`).
    """

    def __init__(self, engine: Engine, slots: int, n_threads: int, reserve: int = 128) -> None:
        if slots < 1:
            raise ValueError(f"slots must be at least 1, got {slots}")
        self.engine = engine
        self.slots = [_Slot(seq=i) for i in range(slots)]
        self.n_threads = n_threads
        self.reserve = reserve
        self.prefix_seq = slots  # the sequence that holds the shared prompt prefix
        self.prefix: list[int] = []
        self.context: SequenceBatch | None = None
        self.stream = 0  # KV cells per sequence
        self.steps = 0  # llama_decode rounds, for the bench
        self.sequential = 0  # jobs too long for a stream, run on the engine's own context
        self.restarted = 0  # of those, jobs whose answer outgrew their stream, started again there

    def close(self) -> None:
        if self.context is not None:
            self.context.close()
            self.context = None

    def _context_for(self, prefix: int) -> SequenceBatch:
        """The batch context, made on first use, with streams sized for the prefix of the first prompt."""
        if self.context is None:
            self.stream = -(-(prefix + self.reserve + 256) // 256) * 256
            self.context = self.engine.sequences(len(self.slots) + 1, self.stream * (len(self.slots) + 1),
                                                 self.n_threads)
        return self.context

    # Requests -------------------------------------------------------------------------------------------------

    def _prime(self, slot: _Slot, request: Prime) -> bool:
        """Make the slot's sequence hold ``request.tokens``: from its own cache up to a checkpoint, or from the
        shared prefix, and the rest as this step's run (see :meth:`Engine.prime`). False when they do not fit."""
        tokens = request.tokens
        cuts = sorted({c for c in request.checkpoints if 0 < c < len(tokens)})
        context = self._context_for(cuts[0] if cuts else 0)
        if len(tokens) + self.reserve > self.stream:
            return False
        if cuts and tokens[:cuts[0]] != self.prefix:
            context.remove(self.prefix_seq)
            self.prefix = tokens[:cuts[0]]
            context.decode([(self.prefix_seq, 0, self.prefix)], logits=False)  # its own batch, as sequentially
        held = slot.held
        keep = max((c for c in cuts if c <= len(held) and held[:c] == tokens[:c]), default=0)
        if keep:
            context.remove(slot.seq, keep)
        else:
            context.remove(slot.seq)
            if cuts and self.prefix:
                keep = len(self.prefix)
                context.copy(self.prefix_seq, slot.seq)
        slot.held = list(tokens)
        slot.run = (keep, tokens[keep:])
        slot.evaluated = len(tokens) - keep
        return True

    def _advance(self, slot: _Slot, reply: Decoded | None, error: BaseException | None = None) -> Any:
        """Send the job its reply (or throw it ``error``) until it asks for an evaluation (None) or ends (its
        result, wrapped in a 1-tuple so that a None result is still a result). A job whose prompt does not fit a
        stream is finished on the engine's own context."""
        assert slot.job is not None
        while True:
            try:
                request = slot.job.throw(error) if error is not None else slot.job.send(reply)  # type: ignore[arg-type]
            except StopIteration as stop:
                return (stop.value,)
            error = None
            if isinstance(request, Prime):
                if self._prime(slot, request):
                    return None
                self.sequential += 1
                return (run_decoding(self.engine, _resumed(slot.job, request)),)
            needed = len(slot.held) + len(request.tokens)
            if needed >= self.engine.n_ctx:  # the engine's own context is full too: as sequentially
                error = ContextFull()
                continue
            if needed >= self.stream:
                return (self._restart(slot),)
            slot.run = (len(slot.held), request.tokens)
            slot.held += request.tokens
            slot.evaluated = 0
            return None

    def _restart(self, slot: _Slot) -> Any:
        """The result of the slot's job made afresh and run on the engine's own context (its answer outgrew the
        stream): the sequential record, whatever the old job had decoded."""
        assert slot.job is not None and slot.make is not None and self.context is not None
        slot.job.close()
        self.context.remove(slot.seq)
        slot.held = []
        self.sequential += 1
        self.restarted += 1
        return run_decoding(self.engine, slot.make())

    # The loop -------------------------------------------------------------------------------------------------

    def run(self, jobs: Iterable[Callable[[], Job[T]]]) -> Iterator[T]:
        """The result of each job, made by calling its maker (again, to start it afresh on the engine when its
        answer outgrows a stream), in the order of ``jobs`` (read lazily, as slots free up)."""
        source = iter(jobs)
        done: dict[int, T] = {}
        emitted = taken = 0
        exhausted = False
        while True:
            for slot in self.slots:  # free slots take the next jobs, in input order
                while slot.job is None and not exhausted:
                    make = next(source, None)
                    if make is None:
                        exhausted = True
                        break
                    slot.job, slot.make, slot.order, slot.held = make(), make, taken, []
                    taken += 1
                    result = self._advance(slot, None)
                    if result is not None:  # nothing to decode (an empty report), or decoded on its own
                        done[slot.order] = result[0]
                        slot.job = slot.make = None
            while emitted in done:
                yield done.pop(emitted)
                emitted += 1
            active = [s for s in self.slots if s.job is not None]
            if not active:
                return
            self._step(active, done)

    def _step(self, active: list[_Slot], done: dict[int, Any]) -> None:
        """One ``llama_decode`` for every active slot's run; each job then gets its logits."""
        assert self.context is not None
        runs = [(s.seq, *s.run) for s in active if s.run is not None]
        error: BaseException | None = None
        try:
            rows = self.context.decode(runs)
        except RuntimeError as exc:
            error, rows = exc, []
        self.steps += 1
        for i, slot in enumerate(active):
            slot.run = None
            reply = None if error else Decoded(rows[i], slot.evaluated, self.engine.n_ctx - len(slot.held) - 1)
            result = self._advance(slot, reply, error)
            if result is not None:
                done[slot.order] = result[0]
                slot.job = slot.make = None


def _resumed(job: Job[T], request: Request) -> Job[T]:
    """``job``, which has just made ``request``, as a coroutine that starts by making it (for :func:`run_decoding`)."""
    while True:
        try:
            reply = yield request
        except Exception as exc:  # noqa: BLE001 - an engine error goes to the job, as run_decoding does
            try:
                request = job.throw(exc)
            except StopIteration as stop:
                return stop.value
            continue
        try:
            request = job.send(reply)
        except StopIteration as stop:
            return stop.value
