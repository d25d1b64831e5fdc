"""The compiled schema: a tree of nodes, one kind per JSON value the automaton can write.

:func:`reportx.extract.constrain.compiler.compile_schema` builds the tree from a JSON Schema;
:mod:`reportx.extract.constrain.automaton` runs it. Nodes are immutable named tuples.

A :class:`QuoteNode` (a string that must be an exact quote of the report, :mod:`reportx.extract.constrain.quote`)
is compiled without its source text; :func:`bind_source` gives a tree the report's text before decoding it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import NamedTuple

from reportx.extract.constrain.quote import QuoteSource
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


class QuoteNode(NamedTuple):
    """A string whose (unescaped) content is a non-empty substring of the report, at most ``max_bytes`` bytes
    of it. ``source``: the report's text, None until :func:`bind_source` binds one; ``any_case``: letters match
    in either case (a label's quote); ``choices``: given the report's text, the only quotes allowed (bound as an
    :class:`EnumNode` of them when there are any)."""

    max_bytes: int
    source: QuoteSource | None = None
    any_case: bool = False
    #: The quotes this field may take in a given report (a label's wordings the report holds), or None: any.
    choices: Callable[[str], Sequence[str]] | None = None


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


Node = LitNode | StrNode | PatternStrNode | QuoteNode | NumNode | EnumNode | ArrNode | ObjNode | UnionNode


def first_bytes(node: Node) -> frozenset[int]:
    """The bytes a value of ``node`` can start with."""
    if isinstance(node, LitNode):
        return frozenset(node.text[:1])
    if isinstance(node, (StrNode, PatternStrNode, QuoteNode)):
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


def _children(node: Node) -> tuple[Node, ...]:
    if isinstance(node, ArrNode):
        return (node.item,)
    if isinstance(node, ObjNode):
        return tuple(p.node for p in node.props)
    if isinstance(node, UnionNode):
        return node.branches + tuple(node.route.values())
    return ()


def has_quotes(node: Node) -> bool:
    """Whether the tree has a :class:`QuoteNode` (then it needs a source text to decode)."""
    return isinstance(node, QuoteNode) or any(has_quotes(c) for c in _children(node))


def bind_source(node: Node, source: str | None) -> Node:
    """The tree with every :class:`QuoteNode` bound to ``source`` (the report's text): a new tree, the compiled one
    being shared by all reports. Quotes and label wordings come only from the report's own text
    (:mod:`reportx.schema.foreign`). A tree without quote nodes is returned as it is, with or without a source.

    Raises ValueError when the tree has quote nodes and ``source`` is None (or has nothing to quote)."""
    if not has_quotes(node):
        return node
    if source is None:
        raise ValueError(
            'the schema has quote fields ("x-reportx-quote": true): decoding needs the report text as source='
        )
    return _bind(node, QuoteSource(source, _keys(node)), {})


def _keys(node: Node) -> set[str]:
    """Every property key of the tree (a sentence of the report naming one is no quote source)."""
    keys = {p.key for p in node.props} if isinstance(node, ObjNode) else set()
    for child in _children(node):
        keys |= _keys(child)
    return keys


def _bind(node: Node, source: QuoteSource, memo: dict[int, Node]) -> Node:
    key = id(node)
    done = memo.get(key)
    if done is not None:
        return done
    out: Node = node
    if isinstance(node, QuoteNode):
        allowed = node.choices(source.own_text) if node.choices is not None else ()
        if allowed:  # a label: one of its wordings as the report writes them (none there: any quote, then null)
            out = EnumNode(tuple(dict.fromkeys(json.dumps(q, ensure_ascii=False).encode("utf-8") for q in allowed)))
        else:
            out = QuoteNode(node.max_bytes, source, node.any_case, node.choices)
    elif isinstance(node, ArrNode):
        out = ArrNode(_bind(node.item, source, memo), node.min_items, node.max_items)
    elif isinstance(node, ObjNode):
        out = ObjNode(tuple(Prop(p.key, _bind(p.node, source, memo)) for p in node.props))
    elif isinstance(node, UnionNode):
        branches = tuple(_bind(b, source, memo) for b in node.branches)
        out = UnionNode(branches, {b: _bind(n, source, memo) for b, n in node.route.items()})
    memo[key] = out
    return out
