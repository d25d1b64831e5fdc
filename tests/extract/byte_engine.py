"""A byte-level stand-in for the extraction engine, for the constrained decoder's tests (no model needed)."""

from __future__ import annotations

import numpy as np


class ByteEngine:
    """One token per byte (256 = end of text). After the prompt, the logits favour the bytes of ``wants`` in order
    (10), then those of ``fallback`` (8): a model that prefers a misspelling but also sees the right spelling."""

    def __init__(self, wants: bytes, fallback: bytes = b"", prompt: int = 0) -> None:
        self.wants, self.fallback, self.prompt = wants, fallback, prompt
        self.seq: list[int] = []

    def is_end(self, token: int) -> bool:
        return token == 256

    def piece(self, token: int) -> bytes:
        return b"" if token == 256 else bytes([token])

    def tokenize(self, text: str) -> list[int]:
        return list(text.encode("utf-8"))

    def detokenize(self, tokens: list[int]) -> bytes:
        return b"".join(self.piece(t) for t in tokens)

    def prime(self, tokens: list[int], checkpoints=()) -> int:
        self.seq = list(tokens)
        return len(tokens)

    def feed(self, tokens: list[int]) -> None:
        self.seq += tokens

    def room(self) -> int:
        return 10_000  # no context limit

    def logits(self) -> np.ndarray:
        logits = np.zeros(257, dtype=np.float32)
        at = len(self.seq) - self.prompt
        if at < len(self.fallback):
            logits[self.fallback[at]] = 8.0
        if at < len(self.wants):
            logits[self.wants[at]] = 10.0
        logits[256] = 5.0
        return logits


# Several sequences at once --------------------------------------------------------------------------------------

PROMPT_END = 4  # the byte that ends an EchoEngine prompt


def echo_prompt(report: str, prefix: tuple[int, ...] = (1, 2, 3)) -> list[int]:
    """A prompt for :class:`EchoEngine`: the prefix, the report's bytes, then PROMPT_END."""
    return [*prefix, *report.encode("utf-8"), PROMPT_END]


def echo_answer(report: str) -> bytes:
    """What :class:`EchoEngine` answers for ``report``: its first word as the project name."""
    return b'{"project_name":"' + report.split()[0].encode("utf-8") + b'"}'


def echo_logits(seq: list[int]) -> np.ndarray:
    """After a prompt, favour the bytes of the report's :func:`echo_answer`, in order; end of text after it."""
    logits = np.zeros(257, dtype=np.float32)
    end = seq.index(PROMPT_END) if PROMPT_END in seq else len(seq)
    report = bytes(t for t in seq[3:end]).decode("utf-8", "replace")
    wants = echo_answer(report) if report.strip() else b"{}"
    at = len(seq) - end - 1
    if 0 <= at < len(wants):
        logits[wants[at]] = 10.0
    logits[256] = 5.0
    return logits


class EchoEngine(ByteEngine):
    """A :class:`ByteEngine` whose answer depends on the report in its prompt (:func:`echo_logits`), with a
    context limit, and a batch context for :class:`reportx.extract.batched.BatchRunner` (:meth:`batch`)."""

    def __init__(self, n_ctx: int = 4096) -> None:
        super().__init__(b"")
        self.n_ctx = n_ctx
        self.primes = self.feeds = 0  # requests evaluated one at a time

    def prime(self, tokens: list[int], checkpoints=()) -> int:
        self.primes += 1
        return super().prime(tokens, checkpoints)

    def feed(self, tokens: list[int]) -> None:
        from reportx.extract.engine import ContextFull

        if len(self.seq) + len(tokens) >= self.n_ctx:
            raise ContextFull()
        self.feeds += 1
        super().feed(tokens)

    def room(self) -> int:
        return self.n_ctx - len(self.seq) - 1

    def logits(self) -> np.ndarray:
        return echo_logits(self.seq)

    def sequences(self, n_seq: int, n_ctx: int, n_threads: int) -> EchoBatch:
        self.made = EchoBatch(n_seq, n_ctx)
        return self.made


class EchoBatch:
    """The :class:`reportx.llamacpp.SequenceBatch` of :class:`EchoEngine`: sequences as token lists."""

    def __init__(self, n_seq: int, n_ctx: int) -> None:
        self.seqs: dict[int, list[int]] = {s: [] for s in range(n_seq)}
        self.n_ctx = n_ctx
        self.calls: list[list[tuple[int, int, list[int]]]] = []
        self.fail_at: int | None = None  # the call that raises RuntimeError, as llama_decode refusing a batch
        self.closed = False

    def remove(self, seq: int, start: int = 0) -> None:
        del self.seqs[seq][start:]

    def copy(self, src: int, dst: int) -> None:
        self.seqs[dst] = list(self.seqs[src])

    def decode(self, runs, logits: bool = True) -> list[np.ndarray]:
        self.calls.append(runs)
        if self.fail_at is not None and len(self.calls) == self.fail_at:
            raise RuntimeError("llama_decode returned 1")
        for seq, pos, tokens in runs:
            assert len(self.seqs[seq]) == pos, (seq, pos, len(self.seqs[seq]))
            self.seqs[seq] += tokens
        return [echo_logits(self.seqs[seq]) if logits else np.empty(0) for seq, _, _ in runs]

    def close(self) -> None:
        self.closed = True
