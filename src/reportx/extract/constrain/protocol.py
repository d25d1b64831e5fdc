"""What the constrained decoder needs from a constraint, so that another engine can take the automaton's place.

:class:`reportx.extract.constrain.decoder.ConstrainedDecoder` talks to its constraint only through
:class:`Constraint`; :class:`reportx.extract.constrain.cursor.Cursor` (the schema automaton with its loop
guards) is the one this package ships. The interface is at the byte level, the model's tokens being the
decoder's business: the decoder checks a candidate token by the bytes of its piece, and tokenises the text the
constraint forces. A token-level engine such as llguidance's ``LLMatcher`` maps onto it: ``finished`` is
``is_stopped()``, ``complete`` ``is_accepting()``, ``forced`` ``compute_ff_bytes()``, ``check`` a
``validate_tokens`` of the bytes' tokens, ``advance`` ``consume_tokens``; ``close`` may return ``b""`` when the
engine cannot complete a value by itself (the answer is then left unfinished and fails validation).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

S = TypeVar("S")


@dataclass(frozen=True)
class Forced(Generic[S]):
    """The text a constraint allows no choice about next (possibly empty), and where it leads."""

    text: bytes
    after: S  # the constraint's state after ``text``, for :meth:`Constraint.advance`
    ends: bool  # nothing may follow ``text``: it closes the value


class Constraint(Protocol[S]):
    """A constraint on one JSON value being written, byte by byte. ``S`` is its state, opaque to the decoder:
    what :meth:`check` answers and :meth:`advance` takes, so that an accepted candidate is not checked twice."""

    @property
    def text(self) -> bytes:
        """The text taken so far."""
        ...

    @property
    def finished(self) -> bool:
        """Nothing more may follow: the value is closed."""
        ...

    @property
    def complete(self) -> bool:
        """The text is a whole valid value (it may still go on: a trailing number can take more digits)."""
        ...

    def check(self, data: bytes) -> S | None:
        """The state after ``data``, or None when the constraint refuses it. Changes nothing."""
        ...

    def advance(self, data: bytes, after: S | None = None) -> None:
        """Take ``data``. ``after``: its state as :meth:`check` or :meth:`forced` gave it; without it, ``data``
        must be text the constraint allows (a prefix of the forced text), and the state is worked out."""
        ...

    def forced(self) -> Forced[S]:
        """The text allowed next without a choice (keys, punctuation, the rest of an enum value)."""
        ...

    def close(self) -> bytes:
        """Complete the value with the least text, when the token budget has run out; returns the text added
        (``text`` is then the whole value). Text that cannot be completed as it is may be dropped first (a
        partial UTF-8 character)."""
        ...
