"""Grammar-constrained decoding from the record's JSON Schema: schema-valid JSON at free-decoding speed.

How it works
------------
The JSON Schema is compiled (:mod:`.compiler`) into a small byte-level pushdown automaton (:mod:`.nodes`,
:mod:`.automaton`) that accepts the JSON text of a conforming record, keys in schema order, compact
(``{"a":1,"b":[]}``, as ``ReportSchema.dumps`` writes gold answers) or with ``json.dumps``' default spaces after
``:`` and ``,``: objects with their fixed keys, strings (no raw control characters, valid UTF-8, bounded
length), numbers, enums / consts, null, booleans, arrays (bounded), ``anyOf`` / ``oneOf`` / type lists, local
``$ref``. Two loop guards (:mod:`.cursor`: an array ends after three identical items in a row; no token follows
itself more than 12 times) stop the repetitions a small model falls into under greedy decoding, and if the
token budget still runs out the record is closed with the least text (strings closed, unstarted values null),
so constrained decoding always ends in schema-valid JSON. Decoding (:mod:`.decoder`) is greedy with two tricks
that make it cheap:

* **The fixed text is forced, not sampled.** Whenever the automaton allows exactly one next byte (the keys,
  ``{"project_name":"``, the rest of ``"Amarillo"`` once ``"Am`` is chosen, ``}``), that text is tokenised and fed
  to the model in the same batch as the token just chosen, in the layout the model itself uses (compact unless
  its first chosen value follows a space), less its last token (token healing, below). The model chooses
  the values and one token per key: one ``llama_decode`` per chosen token.
* **No vocabulary-wide mask.** Greedy decoding only needs the best *allowed* token, so candidates are checked
  in descending logit order (the argmax first; it passes almost always) by running their bytes through the
  automaton, instead of building a 262k-entry mask per step as a GBNF grammar does.

On retry after an invalid free answer, the free tokens are replayed through the automaton and decoding
continues from the first token it rejects, so only the part of the answer that went wrong is re-generated
(the prompt and the valid part stay in the KV cache).

The decoder uses the automaton only through the small :class:`~.protocol.Constraint` protocol (check bytes,
advance, forced text, finished / complete, close), so another engine (llguidance, say) could take its place.

Quote answers: a string leaf marked ``"x-reportx-quote": true`` (``{"type": "string", ...}`` or ``{"type":
["string", "null"], ...}``) must be an exact, non-empty quote of the report, whole words at its edges (never a
fragment such as the ``n`` of ``Informe``), so the decoder takes the report's text (``generate(...,
source=text)``, ``monitor(source=text)``; a ValueError without it). The model quotes, the
code normalises: a misspelt, accent-stripped or paraphrased copy of the report is impossible by construction,
and the normalisation of what was quoted (dates, amounts, ids) is done by code afterwards. Byte-exact on the
report's UTF-8 after unescaping: ``\\"``, ``\\\\``, ``\\n``, ``\\t``, ``\\r``, ``\\b``, ``\\f`` where the report
has that character; ``\\uXXXX`` and ``\\/`` are refused in quotes. Details: :mod:`.quote`.

Numbers: the automaton also lets a number carry digit-group separators (``3,200``, ``4.500``) as a model
copying the report tends to write them; :func:`reportx.extract.parse.loads_lenient` reads those by the
product's money convention (``4.500`` = 4500) instead of letting JSON truncate them to 3 or 4.5.

Limits (documented, checked by validation afterwards): every declared property is written (optional ones
too; a property that can be null is written as null), ``additionalProperties`` is never used, ``format`` and
``pattern`` are not enforced by the automaton (the schema validator checks them, and the retry logic turns a
failure into an error record) except a ``pattern`` of the identifier shape ``^[...][...]*$`` / ``^[...]+$``,
such as the built-in ticket id's, which is enforced character by character, ``minimum`` is enforced only as
"no minus sign" when it is >= 0.

Measured against free decoding, llama-cpp-python's GBNF grammars and llguidance (speed per chosen token,
validity, and why token healing is on): ``docs/constrained-decoding.md``. In short, this module constrains at
free-decoding cost per token and generates fewer tokens, so constrained extraction is faster than free
extraction, and valid every time.
"""

from __future__ import annotations

from reportx.extract.constrain.automaton import (
    MAX_GROUP_DIGITS,
    MAX_GROUPS,
    MAX_INT_DIGITS,
    Frame,
    State,
    closing_bytes,
    forced_bytes,
    initial_state,
    is_complete,
    step,
    step_bytes,
)
from reportx.extract.constrain.compiler import SchemaNotSupported, charset_pattern, compile_schema
from reportx.extract.constrain.cursor import MAX_SAME_TOKEN, Cursor
from reportx.extract.constrain.decoder import ConstrainedDecoder, Monitor
from reportx.extract.constrain.nodes import (
    DEFAULT_MAX_ITEMS,
    DEFAULT_MAX_STRING_BYTES,
    Node,
    QuoteNode,
    bind_source,
    first_bytes,
    has_quotes,
)
from reportx.extract.constrain.protocol import Constraint, Forced
from reportx.extract.constrain.quote import QUOTE_KEYWORD, QuoteSource

__all__ = [
    "DEFAULT_MAX_ITEMS",
    "DEFAULT_MAX_STRING_BYTES",
    "MAX_GROUPS",
    "MAX_GROUP_DIGITS",
    "MAX_INT_DIGITS",
    "MAX_SAME_TOKEN",
    "QUOTE_KEYWORD",
    "ConstrainedDecoder",
    "Constraint",
    "Cursor",
    "Forced",
    "Frame",
    "Monitor",
    "Node",
    "QuoteNode",
    "QuoteSource",
    "SchemaNotSupported",
    "State",
    "bind_source",
    "charset_pattern",
    "closing_bytes",
    "compile_schema",
    "first_bytes",
    "forced_bytes",
    "has_quotes",
    "initial_state",
    "is_complete",
    "step",
    "step_bytes",
]
