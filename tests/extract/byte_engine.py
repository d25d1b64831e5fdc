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

    def logits(self) -> np.ndarray:
        logits = np.zeros(257, dtype=np.float32)
        at = len(self.seq) - self.prompt
        if at < len(self.fallback):
            logits[self.fallback[at]] = 8.0
        if at < len(self.wants):
            logits[self.wants[at]] = 10.0
        logits[256] = 5.0
        return logits
