"""A split output head: llama.cpp evaluates the model's body (:mod:`reportx.export.split`), numpy the logits of the
tokens an answer can be made of.

Why: the default model's output head is 262,144 rows of Q8_0 (73% of its bytes) and llama.cpp computes every row
for every token whose logits are asked for: a third of batched extraction's time (docs/extraction-speed.md). An
answer of reportx's quote form is made of quotes of the report and JSON around them, so a step can only choose
among a few thousand tokens: the *candidates* of a sequence, the tokens whose text, less any JSON punctuation and
white space around it (``'",'``, ``' "'``), occurs in the text the sequence holds (the prompt: instructions, keys
and the report) or is empty, plus JSON's own words and escapes (:data:`ANSWER_TEXT`) and the end-of-generation
tokens. Every other token gets the logit ``-inf``.

The logits of candidates are llama.cpp's up to float rounding: the final hidden state comes from llama.cpp (a body
context with embeddings on), is quantised to 8 bits per block of 32 as llama.cpp quantises a product's
activations for a Q8_0 weight (to half precision for an F16 one), and meets the head's de-quantised rows in float32.
The input goes to llama.cpp as embedding rows (the body's vocabulary is cut), scaled as llama.cpp scales token
embeddings (:data:`reportx.export.split.INPUT_SCALE`).

What changes: a token that is not a candidate cannot be chosen (constrained quote answers never choose one:
measured on the val split), and a chosen token's probability is normalised over the candidates, not over the whole
vocabulary: the mass left out was 5e-6 at the median step and 1% at the 99th percentile (docs/extraction-speed.md),
so confidences move little; the calibration is fitted on this head.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from reportx.export.gguf_io import GGUFHeader, GGUFTensorInfo, read_gguf_header
from reportx.export.split import HEAD_TYPES, INPUT_SCALE

#: what surrounds a quote in an answer (stripped from a token's text before it is looked up in the sequence's text)
SYNTAX = b' \t\n\r"{}[]:,'
#: JSON's words and escapes, and the characters of numbers: candidates whatever the prompt says
ANSWER_TEXT = b'null true false 0123456789.-+eE \\" \\n \\t \\\\ \\/ \\u'
_Q8_0, _F16 = HEAD_TYPES
_BLOCK = 32


@dataclass
class _Vocabulary:
    """One sequence's candidates: a set per evaluated run (its first position), and the head's rows for those of
    their union that are not every sequence's candidates (those rows are the head's, shared)."""

    runs: list[tuple[int, set[int]]] = field(default_factory=list)
    ids: np.ndarray | None = None  # the sequence's own candidates, less the shared ones
    rows: np.ndarray | None = None
    allowed: int = 0  # OutputHead.allowed when ids were computed
    members: set[int] = field(default_factory=set)  # all its candidates, for the subset test of each evaluated run


class OutputHead:
    """The output head of the GGUF model ``model_path`` over per-sequence candidate vocabularies.

    ``pieces``: every token's bytes (b"" for control tokens), ``ends``: the end-of-generation tokens, both from the
    whole model's vocabulary.
    """

    def __init__(self, model_path: str | Path, pieces: Sequence[bytes], ends: Iterable[int]) -> None:
        header = read_gguf_header(model_path, keep=lambda key: False)  # the tensor table; no vocabulary arrays
        tensors = header.tensors
        head = tensors.get("output.weight") or tensors["token_embd.weight"]
        self._embedding = _Rows(header, tensors["token_embd.weight"])
        self._head = _Rows(header, head) if head is not tensors["token_embd.weight"] else self._embedding
        self.n_vocab, self.n_embd = int(head.shape[1]), int(head.shape[0])
        self.scale = np.float32(INPUT_SCALE[header.architecture or ""](self.n_embd))
        self._quantize_input = _activation_rounding(int(head.ggml_type))
        always: set[int] = set(ends)
        by_core: dict[bytes, list[int]] = {}
        for token, piece in enumerate(pieces):
            core = piece.strip(SYNTAX)
            if not core:
                if piece:
                    always.add(token)
                continue
            by_core.setdefault(core, []).append(token)
        self._by_core = by_core
        self._longest = max((len(c) for c in by_core), default=1)
        self._always = always | self._lookup(ANSWER_TEXT)
        self._memo: dict[tuple[int, ...], set[int]] = {}
        self._pieces = pieces
        self.allowed = 0  # how many times allow() added candidates
        self._shared: tuple[int, np.ndarray, np.ndarray] | None = None  # (allowed, ids, rows) of _always

    def allow(self, text: str) -> None:
        """Make the tokens of ``text`` (less SYNTAX) candidates in every sequence: the answer schema's keys and labels,
        which a free answer writes itself (a prompt names only the top-level keys)."""
        found = self._lookup(text.encode("utf-8")) - self._always
        if found:
            self._always |= found
            self.allowed += 1

    # Candidates -------------------------------------------------------------------------------------------------

    def _lookup(self, text: bytes) -> set[int]:
        """Tokens whose core (text less SYNTAX around it) occurs in ``text``."""
        found: set[int] = set()
        by_core, longest, n = self._by_core, self._longest, len(text)
        for i in range(n):
            for j in range(i + 1, min(n, i + longest) + 1):
                ids = by_core.get(text[i:j])
                if ids:
                    found.update(ids)
        return found

    def candidates(self, tokens: Sequence[int]) -> set[int]:
        """The candidates a run of ``tokens`` adds (memoised for long runs: a shared prompt prefix)."""
        key = tuple(tokens)
        found = self._memo.get(key) if len(key) >= 64 else None
        if found is None:
            found = self._lookup(b"".join(self._pieces[t] for t in tokens))
            if len(key) >= 64:
                if len(self._memo) > 64:
                    self._memo.clear()
                self._memo[key] = found
        return found

    # Sequences --------------------------------------------------------------------------------------------------

    def vocabulary(self) -> _Vocabulary:
        """A new, empty sequence vocabulary."""
        return _Vocabulary()

    def evaluated(self, vocabulary: _Vocabulary, position: int, tokens: Sequence[int]) -> None:
        """Record a run of ``tokens`` evaluated at ``position`` in the sequence."""
        found = self.candidates(tokens)
        if vocabulary.ids is not None and not found <= vocabulary.members:
            vocabulary.ids = vocabulary.rows = None
        vocabulary.runs.append((position, found))

    def removed(self, vocabulary: _Vocabulary, start: int) -> None:
        """The sequence's tokens from ``start`` on were dropped: so are the runs that began there."""
        kept = [run for run in vocabulary.runs if run[0] < start]
        if len(kept) != len(vocabulary.runs):
            vocabulary.runs, vocabulary.ids, vocabulary.rows = kept, None, None

    def embed(self, tokens: Sequence[int]) -> np.ndarray:
        """The input rows of ``tokens`` (float32, ``len(tokens) x n_embd``), scaled as llama.cpp scales tokens."""
        return self._embedding.float32(np.asarray(tokens, dtype=np.int64)) * self.scale

    def logits(self, hidden: np.ndarray, vocabulary: _Vocabulary) -> np.ndarray:
        """The whole vocabulary's logits after a token whose final hidden state is ``hidden``: the candidates'
        computed, ``-inf`` for every other token.

        The rows of the candidates every sequence has (JSON's, the schema's keys: ~2,400 for the default model) are
        de-quantised once and shared; a sequence keeps only its own (its report's). Each logit is its row's dot
        product alone, so the split changes no value; it saves ~6 MB of float32 rows per sequence in flight."""
        shared_ids, shared_rows = self._shared_rows()
        if vocabulary.ids is None or vocabulary.allowed != self.allowed:
            vocabulary.allowed = self.allowed
            own = set().union(*(found for _, found in vocabulary.runs)) - self._always
            vocabulary.members = own | self._always
            vocabulary.ids = np.fromiter(sorted(own), dtype=np.int64, count=len(own))
            vocabulary.rows = self._head.float32(vocabulary.ids)
        assert vocabulary.rows is not None
        out = np.full(self.n_vocab, -np.inf, dtype=np.float32)
        x = self._quantize_input(np.asarray(hidden, dtype=np.float32))
        # einsum, not BLAS: one thread, whatever OpenBLAS would start beside each worker's llama.cpp thread (two
        # workers with BLAS threads of their own ran 0.64 reports/s each against 0.81 without, on 2 cores)
        out[shared_ids] = np.einsum("ij,j->i", shared_rows, x)
        out[vocabulary.ids] = np.einsum("ij,j->i", vocabulary.rows, x)
        return out

    def _shared_rows(self) -> tuple[np.ndarray, np.ndarray]:
        """The ids and float32 rows of every sequence's candidates (made again after :meth:`allow` adds some)."""
        if self._shared is None or self._shared[0] != self.allowed:
            ids = np.fromiter(sorted(self._always), dtype=np.int64, count=len(self._always))
            self._shared = (self.allowed, ids, self._head.float32(ids))
        return self._shared[1], self._shared[2]


class _Rows:
    """A weight matrix's rows, read from the model file as they are first needed and kept in their stored type.

    Read with ``os.pread``, not through a memory map: a row of the default head is 680 bytes, a mapped page 4096, so
    mapping the file counted about six times the bytes read in the process's resident memory (138 MB of the
    merged file after 32 reports)."""

    def __init__(self, header: GGUFHeader, info: GGUFTensorInfo) -> None:
        import gguf

        self.type = gguf.GGMLQuantizationType(info.ggml_type)
        block, size = gguf.GGML_QUANT_SIZES[self.type]
        self.row_bytes = info.shape[0] // block * size
        self.n_embd = int(info.shape[0])
        self._start = header.data_start + info.offset
        self._path = header.path
        self._slot = np.full(int(info.shape[1]), -1, dtype=np.int64)  # token -> row of _stored
        self._stored = np.empty((0, self.row_bytes), dtype=np.uint8)

    def float32(self, ids: np.ndarray) -> np.ndarray:
        """Rows ``ids`` de-quantised to float32 (``len(ids) x n_embd``), as llama.cpp de-quantises them."""
        import gguf

        missing = np.unique(ids[self._slot[ids] < 0])
        if missing.size:
            fresh = np.empty((missing.size, self.row_bytes), dtype=np.uint8)
            fd = os.open(self._path, os.O_RDONLY)
            try:
                for i, token in enumerate(missing.tolist()):
                    fresh[i] = np.frombuffer(os.pread(fd, self.row_bytes, self._start + token * self.row_bytes),
                                             dtype=np.uint8)
            finally:
                os.close(fd)
            self._slot[missing] = np.arange(len(self._stored), len(self._stored) + missing.size)
            self._stored = np.concatenate([self._stored, fresh])
        raw = self._stored[self._slot[ids]]
        return np.asarray(gguf.quants.dequantize(raw, self.type), dtype=np.float32).reshape(len(ids), self.n_embd)


def _activation_rounding(head_type: int) -> Callable[[np.ndarray], np.ndarray]:
    """How llama.cpp rounds a product's activations for a weight of ``head_type``: Q8_0 blocks (scale = max|x| / 127
    in half precision, values rounded half to even, as ggml's AVX2 quantizer), F16, else none."""
    if head_type == _F16:
        return lambda x: x.astype(np.float16).astype(np.float32)
    if head_type != _Q8_0:
        return lambda x: x

    def q8_0(x: np.ndarray) -> np.ndarray:
        blocks = x.reshape(-1, _BLOCK)
        amax = np.abs(blocks).max(axis=1, keepdims=True)
        with np.errstate(divide="ignore"):
            inverse = np.where(amax > 0, np.float32(127) / amax, np.float32(0)).astype(np.float32)
        q = np.rint(blocks * inverse)
        scale = (amax / np.float32(127)).astype(np.float16).astype(np.float32)
        return (q * scale).reshape(x.shape).astype(np.float32)

    return q8_0
