"""The compiled schema: a tree of nodes, one kind per JSON value the automaton can write.

:func:`reportx.extract.constrain.compiler.compile_schema` builds the tree from a JSON Schema;
:mod:`reportx.extract.constrain.automaton` runs it. Nodes are immutable named tuples.
"""

from __future__ import annotations

from typing import NamedTuple

from reportx.extract.jsonscan import DIGITS, MINUS, OPEN_BRACE, OPEN_BRACKET, QUOTE

DEFAULT_MAX_STRING_BYTES = 240
DEFAULT_MAX_ITEMS = 8

_NUMBER_START = DIGITS | {MINUS}


class LitNode(NamedTuple):
    """Fixed text (``null``)."""

    text: bytes


class StrNode(NamedTuple):
    """A string of any characters (no raw control characters, valid UTF-8), bounded in length."""

    min_chars: int
    max_bytes: int
    max_chars: int


class PatternStrNode(NamedTuple):
    """A string of ASCII characters from two sets, the first character from ``first`` and the others from
    ``rest`` (a simple ``pattern``, such as an identifier's)."""

    first: frozenset[int]
    rest: frozenset[int]
    max_chars: int


class NumNode(NamedTuple):
    """A number; ``nonneg``: no minus sign (``minimum`` >= 0)."""

    integer: bool
    nonneg: bool


class EnumNode(NamedTuple):
    """One of a few fixed JSON texts (enum, const, booleans)."""

    options: tuple[bytes, ...]


class ArrNode(NamedTuple):
    """An array of ``item`` values, between ``min_items`` and ``max_items`` of them."""

    item: Node
    min_items: int
    max_items: int


class Prop(NamedTuple):
    """One property of an object: its key and the node of its value."""

    key: str
    node: Node


class ObjNode(NamedTuple):
    """An object with every property written, in schema order."""

    props: tuple[Prop, ...]


class UnionNode(NamedTuple):
    """One of several nodes (``anyOf``, ``oneOf``, type lists); ``route``: which branch each first byte takes."""

    branches: tuple[Node, ...]
    route: dict[int, Node]


Node = LitNode | StrNode | PatternStrNode | NumNode | EnumNode | ArrNode | ObjNode | UnionNode


def first_bytes(node: Node) -> frozenset[int]:
    """The bytes a value of ``node`` can start with."""
    if isinstance(node, LitNode):
        return frozenset(node.text[:1])
    if isinstance(node, (StrNode, PatternStrNode)):
        return frozenset((QUOTE,))
    if isinstance(node, NumNode):
        return frozenset(DIGITS) if node.nonneg else _NUMBER_START
    if isinstance(node, EnumNode):
        return frozenset(v[0] for v in node.options if v)
    if isinstance(node, ArrNode):
        return frozenset((OPEN_BRACKET,))
    if isinstance(node, ObjNode):
        return frozenset((OPEN_BRACE,))
    if isinstance(node, UnionNode):
        return frozenset(node.route)
    raise AssertionError(node)
