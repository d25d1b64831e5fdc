"""The llama-cpp-python model behind extraction: loaded once, prefix-cached, greedy, token-counted.

Decoding is a short loop of our own over ``Llama.eval`` and the last token's logits instead of
``create_completion``, for three reasons:

* **Prefix caching we can see, and that changes nothing.** :meth:`Engine.prime` keeps the shared prompt prefix
  (instructions and worked examples, up to ~850 tokens) in llama.cpp's KV cache and evaluates only the rest,
  and counts what it evaluated: report 2..N pay only for their own ~100 tokens
  (``Generation.evaluated_tokens``; the tests and ``bench/extract_speed.py`` print it). The prefix is always
  evaluated as a batch of its own, so a record is the same bit for bit whichever report came before it.
* **Stopping at the end of the JSON object** by bracket balancing (outside strings), so nothing after the
  record is generated.
* **Constrained decoding** (:mod:`reportx.extract.constrain`) needs the logits of each step and the ability
  to feed several known tokens in one batch.

Greedy (argmax) decoding is deterministic: the same model, adapter, prompt and thread count give the same
answer, in any process and after any other report.
"""

from __future__ import annotations

import os
import time
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from reportx.errors import ReportxError
from reportx.extract.jsonscan import CLOSERS, OPEN_BRACE, OPENERS, QUOTE, StringScanner
from reportx.llamacpp import LlamaModel, LoadError, SequenceBatch, SplitModel


@dataclass
class Generation:
    """What one decoding produced, and what it cost."""

    text: str
    tokens: list[int]
    prompt_tokens: int  # tokens of the prompt (the whole prompt, cached part included)
    evaluated_tokens: int  # prompt tokens actually evaluated for this call (the rest came from the KV cache)
    completion_tokens: int  # tokens the model chose (sampled), forced tokens excluded
    forced_tokens: int = 0  # tokens written by the constrainer without sampling (constrained mode)
    seconds: float = 0.0
    finished: bool = True  # False when max_tokens ran out before the JSON object closed
    left_schema: bool = False  # free decoding, monitored: the answer left what the schema allows
    replayed_tokens: int = 0  # constrained retry: tokens of the free answer kept
    closed_early: bool = False  # constrained: the token budget ran out and the value was closed short
    # Per token the model chose: its byte range in ``text`` and its probability under the model's whole
    # distribution (softmax of the raw logits, before any constraint masks tokens): what confidence is made of.
    chosen: list[ChosenToken] = field(default_factory=list)


@dataclass(frozen=True)
class ChosenToken:
    """A token the model chose: ``text[start:end]`` (bytes of the answer) and its unmasked probability."""

    start: int
    end: int
    probability: float


def token_probability(logits: np.ndarray, token: int) -> float:
    """The probability of ``token`` under the softmax of the raw ``logits`` (the whole vocabulary). In the logits'
    own float32: it runs once per chosen token over 262,144 logits, and float64 took 2.7x as long (1.7 vs 0.6 ms)
    for a difference in the 7th digit."""
    top = logits.max()
    return float(np.exp(logits[token] - top) / np.exp(logits - top).sum())


def available_cpus() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def default_threads() -> int:
    """llama.cpp threads (decoding and prompt batches alike): half the CPUs, at most 4; 1 on a 2-core machine.

    A 270M model gives a thread too little work per token to share it well: on 2 cores one thread decodes as
    fast as two (about 80 tokens/s; two are faster only on long prompts, 900 vs 490 tokens/s, which the prefix
    cache makes rare). And when another process holds one of the cores, llama.cpp threads waiting for each
    other at every step collapse: measured on this project's shared 2-core machine, 2 threads decoded 1.7-3.5
    tokens/s and took 3-5 s for a 6-token batch, while 1 thread kept 52 tokens/s. ``--threads`` overrides.
    """
    return max(1, min(4, available_cpus() // 2))


def batch_threads() -> int:
    """llama.cpp threads for batched extraction (:mod:`reportx.extract.batched`): every CPU, at most 8.

    A step of 16 reports gives each thread enough work to share it: measured with the bundled adapter on a quiet
    2-core AMD EPYC, 64 reports at --batch 16 took 0.55 reports/s on 1 thread and 0.90 on 2
    (docs/extraction-speed.md). ``--threads`` overrides.
    """
    return max(1, min(8, available_cpus()))


class Engine:
    """One loaded GGUF model (plus optional LoRA adapter) and its KV cache: extraction's decoding policy (prefix
    cache, context limits, greedy JSON generation) over :class:`reportx.llamacpp.LlamaModel`, which does the
    talking to llama.cpp."""

    def __init__(
        self,
        model_path: str | Path,
        adapter_path: str | Path | None = None,
        *,
        n_ctx: int = 4096,
        n_threads: int | None = None,
        seed: int = 0,
        n_batch: int = 512,
        n_threads_batch: int | None = None,
        split_head: bool = False,
    ) -> None:
        model_path = Path(model_path)
        if not model_path.is_file():
            raise ReportxError(f"model file not found: {model_path}")
        if adapter_path is not None and not Path(adapter_path).is_file():
            raise ReportxError(f"adapter file not found: {adapter_path}")
        if split_head and adapter_path is not None:
            raise ValueError("a split output head needs a model without a run-time adapter (merge it first)")
        threads = n_threads or default_threads()
        threads_batch = n_threads_batch or threads
        self.model: LlamaModel
        try:
            if split_head:  # the body in llama.cpp, the head over candidate tokens in numpy (extract.head)
                from reportx.models import split_body

                self.model = SplitModel(model_path, split_body(model_path), n_ctx=n_ctx, n_batch=n_batch,
                                        n_threads=threads)
            else:
                self.model = LlamaModel.load(
                    model_path,
                    adapter_path,
                    n_ctx=n_ctx,
                    n_batch=n_batch,
                    n_ubatch=n_batch,
                    n_threads=threads,
                    n_threads_batch=threads_batch,
                    seed=seed,
                    logits_all=False,
                    verbose=False,
                )
        except LoadError as exc:
            what = f"model {model_path.name}" + (f" with adapter {Path(adapter_path).name}" if adapter_path else "")
            raise ReportxError(f"cannot load {what}: {exc}") from None
        self.llm = self.model.llm  # the llama_cpp.Llama, for its public methods (reset, close, create_completion)
        self.threads = (threads, threads_batch)
        self.model_path = model_path
        self.adapter_path = Path(adapter_path) if adapter_path else None
        self.split_head = split_head
        self.n_ctx = self.model.n_ctx
        self.n_vocab = self.model.n_vocab
        self.eos = self.model.eos
        self.bos = self.model.bos
        self.add_bos = self.model.add_bos
        self.metadata = self.model.metadata
        self.total_evaluated = 0  # prompt tokens evaluated over the engine's life (prefix-cache evidence)

    # Tokens -----------------------------------------------------------------------------------------------

    def tokenize(self, text: str, *, bos: bool = False, special: bool = False) -> list[int]:
        """Tokens of ``text``; with ``bos`` the model's begin-of-sequence token first (when it uses one).

        ``special`` parses control-token markup (a chat template's turns); report text is always tokenised
        with ``special=False`` so that a report cannot write a turn marker.
        """
        return self.model.tokenize(text, bos=bos, special=special)

    def piece(self, token: int) -> bytes:
        """The bytes a token writes (b"" for control tokens); memoised."""
        return self.model.piece(token)

    def detokenize(self, tokens: list[int]) -> bytes:
        return self.model.detokenize(tokens)

    def token_text(self, token: int) -> str:
        """A token's text in the vocabulary (``<bos>``, ``<eos>``), for a chat template."""
        return self.model.token_text(token)

    def is_end(self, token: int) -> bool:
        """Whether ``token`` ends generation (llama.cpp's end-of-generation set, see :meth:`LlamaModel.is_end`)."""
        return self.model.is_end(token)

    # KV cache ---------------------------------------------------------------------------------------------

    @property
    def cached_tokens(self) -> list[int]:
        return self.model.input_ids.tolist()

    def prime(self, tokens: list[int], checkpoints: Sequence[int] = ()) -> int:
        """Make the KV cache hold exactly ``tokens``, with the logits of the last one ready.

        ``checkpoints``: token counts at which the sequence is cut into separately evaluated batches (the
        shared prompt prefix, say). The cache is reused only up to the longest checkpoint it already holds, and
        the rest is evaluated one segment at a time, so the logits depend on the tokens and the checkpoints
        alone, never on what an earlier report left in the cache: llama.cpp's CPU kernels round differently for
        batches of different shapes (measured: up to 1.8 in a logit of the embedded model when a report's
        prompt was evaluated in one batch instead of after a cached prefix), enough to change a greedy answer,
        which would make a record depend on the report before it, or on which process of a batch job read it.
        Returns the number of tokens evaluated.
        """
        if not tokens:
            raise ValueError("empty prompt")
        if len(tokens) >= self.n_ctx:
            raise ValueError(f"prompt of {len(tokens)} tokens does not fit the context of {self.n_ctx}")
        cuts = sorted({c for c in checkpoints if 0 < c < len(tokens)})  # the last token is always evaluated
        model = self.model
        held = self._held_prefix(tokens, cuts[-1] if cuts else 0)
        keep = max((c for c in cuts if c <= held), default=0)
        if not (keep > 0 and model.keep(keep)):
            model.reset()
            keep = 0
        for start, end in zip([keep, *cuts], [*cuts, len(tokens)], strict=True):
            if end > start >= keep:
                model.decode(tokens[start:end])
        evaluated = len(tokens) - keep
        self.total_evaluated += evaluated
        return evaluated

    def _held_prefix(self, tokens: list[int], limit: int) -> int:
        """How many of the first ``limit`` tokens the KV cache already holds."""
        cached = self.model.input_ids
        n = min(len(cached), limit)
        if n <= 0:
            return 0
        a = np.asarray(cached[:n])
        diff = np.nonzero(a != np.asarray(tokens[:n], dtype=a.dtype))[0]
        return int(diff[0]) if diff.size else n

    def feed(self, tokens: list[int]) -> None:
        """Append tokens to the sequence (one batch) and compute the logits after the last."""
        if self.model.n_tokens + len(tokens) >= self.n_ctx:
            raise ContextFull()
        self.model.decode(tokens)

    def logits(self) -> np.ndarray:
        """The logits after the last evaluated token (a view valid until the next eval)."""
        return self.model.logits()

    def sequences(self, n_seq: int, n_ctx: int, n_threads: int) -> SequenceBatch:
        """A context of ``n_seq`` sequences on this engine's model and adapter, ``n_ctx`` KV cells in all, for
        decoding several reports at once (:mod:`reportx.extract.batched`)."""
        return SequenceBatch(self.model, n_seq, n_ctx, n_threads)

    @property
    def n_past(self) -> int:
        return self.model.n_tokens

    def room(self) -> int:
        """Tokens that still fit in the context."""
        return self.n_ctx - self.model.n_tokens - 1

    # Free generation ----------------------------------------------------------------------------------------

    def generate_json(self, prompt: list[int], max_tokens: int = 256, monitor=None,
                      checkpoints: Sequence[int] = ()) -> Generation:
        """Greedy decoding from ``prompt`` until the first JSON object closes, an end token, or ``max_tokens``
        (:func:`free_json` on this engine's one sequence)."""
        return run_decoding(self, free_json(self, prompt, max_tokens, monitor, checkpoints))


class ContextFull(Exception):
    """The sequence reached the end of the context window."""


# Decodings as coroutines ------------------------------------------------------------------------------------------
#
# A decoding (free, constrained) is written once, as a generator that yields what it needs the model to evaluate
# (:class:`Prime`, :class:`Feed`) and receives the logits after it (:class:`Decoded`). :func:`run_decoding` runs one
# on an :class:`Engine`'s single sequence, one request at a time (sequential extraction);
# :class:`reportx.extract.batched.BatchRunner` runs many at once, one sequence each, their requests evaluated
# together in one llama.cpp batch per step. The decoding logic is the same code either way.


@dataclass(frozen=True)
class Prime:
    """Make the sequence hold exactly ``tokens`` (see :meth:`Engine.prime` for ``checkpoints``)."""

    tokens: list[int]
    checkpoints: tuple[int, ...] = ()


@dataclass(frozen=True)
class Feed:
    """Append ``tokens`` to the sequence. Raises :class:`ContextFull` at the ``yield`` when they do not fit."""

    tokens: list[int]


@dataclass(frozen=True)
class Decoded:
    """The reply to a request: the logits after the sequence's last token (valid until the decoding's next
    request), the prompt tokens a :class:`Prime` evaluated (the rest came from the cache), and the tokens that
    still fit in the sequence's context."""

    logits: np.ndarray
    evaluated: int
    room: int


Request = Prime | Feed
T = TypeVar("T")
#: A coroutine of decoding: yields requests, is sent their replies, returns its result.
Job = Generator[Request, Decoded, T]
#: A decoding of one answer.
Decoding = Job[Generation]


def run_decoding(engine: Any, job: Job[T]) -> T:
    """Run ``job`` on ``engine``'s one sequence (an :class:`Engine`, or anything with its ``prime``, ``feed``,
    ``logits`` and ``room``), one request at a time. An error of the engine's (:class:`ContextFull`, say) is
    raised in the job, where its request was made."""
    reply: Decoded | None = None
    error: Exception | None = None
    while True:
        try:
            request = job.throw(error) if error is not None else job.send(reply)  # type: ignore[arg-type]
        except StopIteration as stop:
            return stop.value
        error = None
        try:
            evaluated = engine.prime(request.tokens, request.checkpoints) if isinstance(request, Prime) else 0
            if isinstance(request, Feed):
                engine.feed(request.tokens)
            reply = Decoded(engine.logits(), evaluated, engine.room())
        except Exception as exc:  # noqa: BLE001 - handed to the job, which knows what it can recover from
            error = exc


def free_json(model: Any, prompt: list[int], max_tokens: int = 256, monitor=None,
              checkpoints: Sequence[int] = ()) -> Decoding:
    """Greedy decoding from ``prompt`` until the first JSON object closes, an end token, or ``max_tokens``.

    ``model``: the tokens' side of an :class:`Engine` (``is_end``, ``piece``, ``detokenize``). ``monitor``: an
    object with ``accept(token) -> bool`` (see :class:`reportx.extract.constrain.Monitor`); decoding stops,
    unfinished, at the first token it refuses. That token is not kept. ``checkpoints``: see :meth:`Engine.prime`.
    """
    start = time.perf_counter()
    reply = yield Prime(prompt, tuple(checkpoints))
    evaluated = reply.evaluated
    balance = JsonBalance()
    out: list[int] = []
    finished = False
    left_schema = False
    chosen: list[ChosenToken] = []
    written = 0  # bytes of the answer so far
    while len(out) < max_tokens:
        logits = reply.logits
        token = int(np.argmax(logits))
        if model.is_end(token):
            break
        if monitor is not None and not monitor.accept(token):
            left_schema = True
            break
        out.append(token)
        piece = model.piece(token)
        chosen.append(ChosenToken(written, written + len(piece), token_probability(logits, token)))
        written += len(piece)
        if balance.push(piece):
            finished = True
            break
        if reply.room <= 0:
            break
        reply = yield Feed([token])
    raw = model.detokenize(out)
    text = raw[: balance.end] if finished else raw
    return Generation(
        text=text.decode("utf-8", errors="replace"),
        tokens=out,
        prompt_tokens=len(prompt),
        evaluated_tokens=evaluated,
        completion_tokens=len(out) + (1 if left_schema else 0),
        seconds=time.perf_counter() - start,
        finished=finished,
        left_schema=left_schema,
        chosen=chosen,
    )


class JsonBalance:
    """Finds the end of the first top-level JSON object in a byte stream (brackets outside strings).

    Bytes before the first ``{`` are skipped (a model may start with a space or a newline).
    """

    def __init__(self) -> None:
        self.depth = 0
        self.started = False
        self.strings = StringScanner()  # the JSON string scan the constrainer and the parser share
        self.pos = 0
        self.end: int | None = None

    def push(self, data: bytes) -> bool:
        """Feed bytes; True once the object has closed (``self.end`` is then its end offset in the stream)."""
        i, n = 0, len(data)
        while i < n and self.end is None:
            if self.strings.inside:
                i = self.strings.skip(data, i)
                continue
            b = data[i]
            if not self.started:
                if b == OPEN_BRACE:
                    self.started, self.depth = True, 1
            elif b == QUOTE:
                self.strings.inside = True
            elif b in OPENERS:
                self.depth += 1
            elif b in CLOSERS:
                self.depth -= 1
                if self.depth == 0:
                    self.end = self.pos + i + 1
            i += 1
        self.pos += len(data)
        return self.end is not None

