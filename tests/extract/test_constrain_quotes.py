"""Quote fields ("x-reportx-quote": true): the value must be an exact, non-empty quote of the report, whole words
at its edges.

No model needed but for the last test: a byte-level stand-in for the engine, as in test_constrain_protocol.py.
"""

from __future__ import annotations

import json

import pytest
from tests.extract.byte_engine import ByteEngine

from reportx.extract.constrain import (
    ConstrainedDecoder,
    Cursor,
    QuoteNode,
    QuoteSource,
    bind_source,
    closing_bytes,
    compile_schema,
    has_quotes,
    initial_state,
    step_bytes,
)

QUOTE = {"type": "string", "x-reportx-quote": True}
NULLABLE_QUOTE = {"type": ["string", "null"], "x-reportx-quote": True, "description": "as written"}

# Accents, a euro sign, an emoji, a double quote, a backslash, a tab and line breaks.
SOURCE = 'Proyecto Ñandú: el café cuesta 3,20 € 😀 y "Beta" usa C:\\tmp\ncon\ttab.\r\nFin'

RECORD_SCHEMA = {
    "type": "object",
    "properties": {
        "project_name": QUOTE,
        "blockers_today": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"ticket_id": NULLABLE_QUOTE, "delay_hours": NULLABLE_QUOTE},
                "required": ["ticket_id", "delay_hours"],
                "additionalProperties": False,
            },
        },
    },
    "required": ["project_name", "blockers_today"],
    "additionalProperties": False,
}
REPORT = "Daily del proyecto Ñandú. Bloqueo: JIRA-482 (la API de pagos), nos retrasa 3,5 h. Mañana seguimos."


def is_word(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def whole_words(text: str, i: int, j: int) -> bool:
    """The reference rule on characters: text[i:j] starts and ends at word edges."""
    starts = i == 0 or not is_word(text[i - 1]) or not is_word(text[i])
    ends = j == len(text) or not is_word(text[j]) or not is_word(text[j - 1])
    return starts and ends


def allowed_quote(text: str, quote: str) -> bool:
    """Whether some occurrence of ``quote`` in ``text`` has whole words at its edges."""
    return any(text.startswith(quote, k) and whole_words(text, k, k + len(quote)) for k in range(len(text)))


def quote_state(schema=QUOTE, source=SOURCE):
    return initial_state(bind_source(compile_schema(schema), source))


def written(text: str) -> bytes:
    return json.dumps(text, ensure_ascii=False).encode("utf-8")


def test_the_mark_compiles_to_a_quote_node():
    assert isinstance(compile_schema(QUOTE), QuoteNode)
    assert has_quotes(compile_schema(RECORD_SCHEMA))
    assert not has_quotes(compile_schema({"type": "object", "properties": {"a": {"type": "string"}}}))
    # A free string is more general than a quote: it takes the union's '"'.
    union = compile_schema({"anyOf": [QUOTE, {"type": "string"}]})
    assert not has_quotes(union.route[ord('"')])  # type: ignore[union-attr]


def test_a_substring_is_accepted_exactly_when_its_edges_are_whole_words():
    # Every substring of the report was accepted before quotes had to be whole words at their edges; a fragment
    # of a word ("n" of "Informe") is refused now, so the rule is checked against the reference on characters.
    state = quote_state()
    accepted = 0
    for i in range(len(SOURCE)):
        for j in range(i + 1, len(SOURCE) + 1):
            quote = SOURCE[i:j]
            ok = allowed_quote(SOURCE, quote)
            assert (step_bytes(state, written(quote)) == ()) is ok, quote
            accepted += ok
    assert 0 < accepted < len(SOURCE) * (len(SOURCE) + 1) // 2
    assert step_bytes(state, b'"usa C:\\\\tmp\\ncon\\ttab.\\r\\nFin"') == ()
    assert step_bytes(state, b'"y \\"Beta\\""') == ()


@pytest.mark.parametrize("text", [
    b'""',  # empty
    '"Ñandu"'.encode(),  # an accent dropped
    '"Ñandù"'.encode(),  # the wrong accent
    b'"Proyecto  "',  # not in the report
    '"3.20 €"'.encode(),  # the separator changed
    b'"\\u00d1"',  # \u escapes are refused in quotes
    b'"C:\\/"',  # so is \/
    b'"tmp\ncon"',  # a raw line break is not JSON
    b'"Fin\\n"',  # the report has no line break there
    b'"\xb1and"',  # the middle of a character
    b'"\xc3"',  # half a character closed
])
def test_what_is_not_an_exact_quote_is_refused(text):
    assert step_bytes(quote_state(), text) is None


ATENEA = "Informe del proyecto 'Atenea'"


@pytest.mark.parametrize(("source", "quote", "allowed"), [
    (ATENEA, "Atenea", True),
    (ATENEA, "proyecto 'Atenea'", True),
    (ATENEA, "'Atenea'", True),  # starts and ends on a non-word character
    (ATENEA, "del", True),
    (ATENEA, "Informe", True),  # the start of the report
    (ATENEA, "n", False),  # the fragment the real model wrote as a project name
    (ATENEA, "nforme", False),  # starts inside a word
    (ATENEA, "Atene", False),  # ends inside a word
    (ATENEA, "Informe d", False),
    (ATENEA, "'Aten", False),
    ("#9812", "9812", True),  # "#" is not a word character
    ("#9812", "#9812", True),
    ("#9812", "981", False),
    ("#9812", "812", False),
    ("4500€ de", "4500€", True),
    ("4500€ de", "4500", True),  # ends before "€", not a word character
    ("4500€ de", "€ de", True),
    ("4500€ de", "450", False),
    ("4500€ de", "500€", False),
    ("4500€ de", "4500€ d", False),
    ("12h", "12h", True),
    ("12h", "12", False),  # followed by "h"
    ("12h", "h", False),
    ("2 días,", "2 días", True),  # ends before "," after a two-byte character
    ("2 días,", "días,", True),
    ("2 días,", "2 día", False),
    ("2 días,", "ías", False),
    ("Ñandú", "Ñandú", True),  # multi-byte letters at both ends of the report
    ("Ñandú", "Ñand", False),
    ("Ñandú", "andú", False),
    ("snake_case x", "snake", False),  # "_" is a word character
    ("snake_case x", "snake_case", True),
])
def test_quotes_are_whole_words_at_their_edges(source, quote, allowed):
    assert allowed_quote(source, quote) is allowed  # the reference agrees with the examples
    assert (step_bytes(quote_state(source=source), written(quote)) == ()) is allowed


def test_the_edges_are_computed_on_characters_as_str_isalnum_says():
    # Digits and letters of other scripts, a combining accent (not alphanumeric), "½" and "²" (alphanumeric).
    text = "a½²_×一\u0301 ١٢-x€😀𠀀y"
    offsets = [len(text[:i].encode()) for i in range(len(text) + 1)]
    expected = {offsets[i] for i in range(len(text) + 1)
                if i in (0, len(text)) or not (is_word(text[i - 1]) and is_word(text[i]))}
    edges = QuoteSource(text).edges
    assert {p for p in range(offsets[-1] + 1) if edges >> p & 1} == expected


def test_a_quote_starting_inside_a_word_is_refused_at_its_first_byte():
    state = quote_state(source=ATENEA)
    assert step_bytes(state, b'"n') is None  # every "n" of the report is inside a word
    assert step_bytes(state, b'"Aten') is not None and step_bytes(state, b'"Aten"') is None
    assert step_bytes(state, b'"Atenea"') == ()


def test_a_misspelt_copy_is_refused_at_its_first_wrong_byte():
    state = quote_state()
    good, bad = "Ñandú".encode(), "Ñandù".encode()
    k = next(i for i, (a, b) in enumerate(zip(good, bad, strict=True)) if a != b)
    assert step_bytes(state, b'"' + bad[:k]) is not None
    assert step_bytes(state, b'"' + bad[: k + 1]) is None


def test_null_only_where_the_schema_allows_it():
    assert step_bytes(quote_state(), b"null") is None
    assert step_bytes(quote_state(NULLABLE_QUOTE), b"null") == ()
    assert step_bytes(quote_state(NULLABLE_QUOTE), written("café")) == ()


def test_closing_early_gives_a_valid_quote():
    state = quote_state()
    assert closing_bytes(state) == b'"Proyecto"'  # nothing written: the report's first word
    assert closing_bytes(quote_state(NULLABLE_QUOTE)) == b"null"
    assert closing_bytes(step_bytes(state, b'"')) == b'Proyecto"'
    assert closing_bytes(step_bytes(state, b'"caf\xc3')) == b'\xa9"'  # the character is finished first
    assert closing_bytes(step_bytes(state, '"Ñan'.encode())) == 'dú"'.encode()  # and the word
    assert closing_bytes(step_bytes(state, b'"el caf')) == 'é"'.encode()
    assert closing_bytes(step_bytes(state, b'"3,20 ')) == b'"'  # ends after a non-word character: whole words
    assert closing_bytes(step_bytes(state, b'"C:\\')) == b'\\"'  # so is the escape
    # The first word, not the report's first character, where the report starts with punctuation.
    assert closing_bytes(quote_state(source="  — «Informe» del")) == b'"Informe"'
    only_escaped = quote_state(source='"\n\t')  # a report of characters JSON escapes only: no word
    assert closing_bytes(only_escaped) == b'"\\""'
    for source in (SOURCE, ATENEA, "4500€ de", "12h", "#9812", "x"):  # a quote cut at any byte closes validly
        data = written(source)
        for k in range(1, len(data)):
            after = step_bytes(quote_state(source=source), data[:k])
            assert after is not None
            text = data[:k] + closing_bytes(after)
            assert allowed_quote(source, json.loads(text)), text


def test_max_length_bounds_a_quote_in_whole_characters_and_words():
    # Past the limit nothing new may begin where the quote can end, but the character, and now also the word,
    # begun below it is finished: a quote cut inside a word would not be a quote of whole words.
    schema = {**QUOTE, "maxLength": 2}  # at most 4 bytes a character: 8 bytes
    state = quote_state(schema, source='éééé ééééé aaaaaaaaa" aéééé')
    assert step_bytes(state, written("éééé")) == ()  # 8 bytes, a whole word
    assert step_bytes(state, written("éééé ")) is None  # could end at 8 bytes: nothing new
    assert step_bytes(state, written("ééééé")) is None  # the same, though a whole word too ("éééé" could end)
    assert step_bytes(state, written("aaaaaaaaa")) == ()  # 9 bytes: the word begun is finished
    assert step_bytes(state, b'"aaaaaaaaa\\"') is None  # no escape begun past the limit once the word ended
    assert closing_bytes(step_bytes(state, b'"aaaaaaaa')) == b'a"'  # closing finishes the word
    # A character begun below the limit is finished (7 bytes, then 2), and so is its word.
    assert closing_bytes(step_bytes(state, '"aééé'.encode() + b"\xc3")) == b'\xa9"'
    assert step_bytes(state, written("aéééé")) == ()


def test_a_source_is_required_and_schemas_without_quotes_do_not_change():
    with pytest.raises(ValueError, match="source"):
        Cursor(compile_schema(RECORD_SCHEMA))
    plain = compile_schema({"type": "object", "properties": {"a": {"type": "string"}}})
    assert bind_source(plain, None) is plain and Cursor(plain, "ignored").node is plain
    with pytest.raises(ValueError, match="nothing to quote"):
        Cursor(compile_schema(QUOTE), "")


def record_text(name: str, ticket: str, delay: str) -> bytes:
    return json.dumps({"project_name": name, "blockers_today": [{"ticket_id": ticket, "delay_hours": delay}]},
                      ensure_ascii=False, separators=(",", ":")).encode()


def test_a_record_of_quotes_decodes_to_exact_quotes_when_the_model_prefers_misspellings():
    wants = record_text("Ñandù", "JIRA-428", "3.5 h")  # each the same length in bytes as the right spelling
    right = record_text("Ñandú", "JIRA-482", "3,5 h")
    engine = ByteEngine(wants, right, prompt=3)
    decoder = ConstrainedDecoder.for_schema(engine, RECORD_SCHEMA, max_tokens=200)  # type: ignore[arg-type]
    assert decoder.needs_source
    gen = decoder.generate([1, 2, 3], source=REPORT)
    assert gen.text.encode() == right and not gen.closed_early
    with pytest.raises(ValueError, match="source"):
        decoder.generate([1, 2, 3])


# The model chooses '"', then one byte per token: out of budget after "Ña", or inside "Ñ" (the half character is
# dropped, and the empty quote closed with the report's first word). Closing finishes the word the quote is in:
# "Ña" alone would not be a quote of whole words.
@pytest.mark.parametrize(("budget", "name"), [(4, "Ñandú"), (2, "Daily")])
def test_a_record_closed_early_is_valid_json_of_quotes(budget, name):
    wants = record_text("Ñandú", "JIRA-482", "3,5 h")
    engine = ByteEngine(wants, prompt=3)
    decoder = ConstrainedDecoder.for_schema(engine, RECORD_SCHEMA, max_tokens=budget)  # type: ignore[arg-type]
    gen = decoder.generate([1, 2, 3], source=REPORT)
    assert gen.closed_early and json.loads(gen.text) == {"project_name": name, "blockers_today": []}


NAME_SCHEMA = {"type": "object", "properties": {"project_name": QUOTE}, "required": ["project_name"],
               "additionalProperties": False}
ATENEA_REPORT = ("Informe del proyecto 'Atenea'. Hoy hemos terminado la migración de la base de datos. Hubo un "
                 "bug (ID: 9812) que retrasó el testing 2 días.")


def name_text(name: str) -> bytes:
    return json.dumps({"project_name": name}, ensure_ascii=False, separators=(",", ":")).encode()


# What the real model did: its preferred tokens were not in the report and the best allowed one was the "n" of
# "Informe". With word edges the fragment is refused (at its first byte: no word of the report starts with "n";
# at its closing quote: "Atene" ends inside "Atenea"), and the decoder goes on with the next best bytes.
@pytest.mark.parametrize(("fragment", "word"), [
    ("n", "Informe"), ("Atene", "Atenea"), ("proyecto 'Aten", "proyecto 'Atenea'"),
])
def test_a_model_that_prefers_a_fragment_writes_a_whole_word(fragment, word):
    engine = ByteEngine(name_text(fragment), name_text(word), prompt=3)
    gen = ConstrainedDecoder.for_schema(engine, NAME_SCHEMA, max_tokens=60).generate(  # type: ignore[arg-type]
        [1, 2, 3], source=ATENEA_REPORT)
    assert json.loads(gen.text) == {"project_name": word} and not gen.closed_early


def test_a_quote_cut_inside_a_word_by_the_budget_closes_on_the_whole_word():
    engine = ByteEngine(name_text("Atenea"), prompt=3)  # '"', "A", "t", "e": out of budget inside the word
    gen = ConstrainedDecoder.for_schema(engine, NAME_SCHEMA, max_tokens=4).generate(  # type: ignore[arg-type]
        [1, 2, 3], source=ATENEA_REPORT)
    assert gen.closed_early and json.loads(gen.text) == {"project_name": "Atenea"}


def test_the_monitor_refuses_a_free_answer_that_is_not_a_quote():
    decoder = ConstrainedDecoder.for_schema(ByteEngine(b""), RECORD_SCHEMA)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="source"):
        decoder.monitor()
    monitor = decoder.monitor(source=REPORT)
    text = '{"project_name":"Ñandù"'.encode()
    accepted = [monitor.accept(b) for b in text]
    assert accepted == [True] * (len(text) - 2) + [False, False] and monitor.rejected == text[-2:-1]
    good = decoder.monitor(source=REPORT)
    assert all(good.accept(b) for b in record_text("Ñandú", "JIRA-482", "3,5 h"))


@pytest.mark.model
def test_the_model_writes_an_exact_quote(engine):
    report = "Informe del proyecto Ñandú: el despliegue quedó bloqueado por el ticket OPS-771 durante dos días."
    schema = {"type": "object", "properties": {"project_name": QUOTE, "ticket_id": NULLABLE_QUOTE},
              "required": ["project_name", "ticket_id"]}
    prompt = engine.tokenize(f"Report:\n{report}\n\nJSON with the project name and the ticket id, as written:\n",
                             bos=True)
    gen = ConstrainedDecoder.for_schema(engine, schema, max_tokens=48).generate(prompt, source=report)
    record = json.loads(gen.text)
    assert record["project_name"] and record["project_name"] in report
    assert record["ticket_id"] is None or (record["ticket_id"] and record["ticket_id"] in report)


ANY_CASE_QUOTE = {"type": ["string", "null"], "x-reportx-quote": "any-case"}
SHOUTED = "El proyecto está BLOQUEADO. ÁMBAR ayer; Ñandú×2 y straße."


def test_an_any_case_quote_matches_letters_of_either_case_and_nothing_else():
    state = quote_state(ANY_CASE_QUOTE, SHOUTED)
    for quote in ("bloqueado", "Bloqueado", "BLOQUEADO", "ámbar", "Ámbar", "ÁMBAR", "ñandú", "ÑANDÚ×2", "STRAßE"):
        assert step_bytes(state, written(quote)) == (), quote
    for quote in ("bloqueada", "ambar", "amBar ", "ñandú÷2", "STRAẞE", "bloque"):  # other letters, or cut words
        assert step_bytes(state, written(quote)) != (), quote
    exact = quote_state(NULLABLE_QUOTE, SHOUTED)
    assert step_bytes(exact, written("bloqueado")) != () and step_bytes(exact, written("BLOQUEADO")) == ()


def test_case_partners_are_letters_only():
    from reportx.extract.constrain.quote import case_partner

    assert case_partner(ord("a")) == ord("A") and case_partner(ord("Z")) == ord("z")
    assert case_partner(ord("1")) is None and case_partner(ord("@")) is None and case_partner(ord("[")) is None
    assert case_partner("á".encode()[1]) == "Á".encode()[1] and case_partner("×".encode()[1]) is None
    assert case_partner("ß".encode()[1]) is None


def test_a_field_with_choices_takes_only_one_of_them_and_any_quote_when_there_is_none():
    schema = {"type": "object", "properties": {"status": ANY_CASE_QUOTE, "name": QUOTE}, "required": ["status", "name"]}
    choose = lambda text: tuple(w for w in ("rojo", "BLOQUEADO") if w in text)  # noqa: E731
    node = compile_schema(schema, {"status": choose})
    state = initial_state(bind_source(node, SHOUTED))
    assert step_bytes(state, b'{"status": "BLOQUEADO", "name": "proyecto"}') == ()
    assert step_bytes(state, b'{"status": null, "name": "proyecto"}') == ()
    assert step_bytes(state, b'{"status": "proyecto"') is None  # a quote, but no choice
    free = initial_state(bind_source(node, "Proyecto Nube, sin estado."))  # no choice in the text: any quote
    assert step_bytes(free, b'{"status": "Nube", "name": "Proyecto"}') == ()


TABLE_REPORT = "| Campo | Valor |\n| --- | :---: |\n| Proyecto | Sirio |\n| Estado | verde |\nFin."


@pytest.mark.parametrize(("wants", "report", "written"), [
    ("Campo", TABLE_REPORT, "Sirio"),  # the header word: refused, the model's next choice is taken
    ("Campo", TABLE_REPORT.replace("verde", "Campo Verde"), "Campo"),  # the same word in a data row
])
def test_a_table_header_row_cannot_be_quoted_but_its_words_elsewhere_can(wants, report, written):
    engine = ByteEngine(name_text(wants), name_text("Sirio"), prompt=3)
    gen = ConstrainedDecoder.for_schema(engine, NAME_SCHEMA, max_tokens=60).generate(  # type: ignore[arg-type]
        [1, 2, 3], source=report)
    assert json.loads(gen.text) == {"project_name": written}


@pytest.mark.parametrize(("text", "layout"), [
    ("| Campo | Valor |\n|---|---|\n| a | b |", "| Campo | Valor |" "a"),  # the header, and the row's label
    ("Informe\nCampo | Valor\n:--- | ---:\nx | y", "Campo | Valor" "x"),
    ("| Campo | Valor |\r\n| --- | --- |\r\n| a | b |", "| Campo | Valor |\r" "a"),
    ("| P | E | G |\n| --- | --- | --- |\n| a | b | c |", "| P | E | G |"),  # three columns: no labels
    ("| Campo | Valor |\n| a | b |", ""),  # no rule line: no header
    ("Campo --- Valor\n---\nx", ""),  # a Markdown heading underline is no table rule
])
def test_table_header_rows_and_label_cells_are_foreign(text, layout):
    source = QuoteSource(text)
    data = text.encode()
    marked = bytes(b for i, b in enumerate(data) if source.foreign >> i & 1)
    assert marked == layout.encode()


def test_a_source_whose_words_are_all_in_a_header_row_stays_quotable():
    assert QuoteSource("| a | b |\n| --- | --- |").foreign == 0  # the rule line has no word to quote
    assert QuoteSource("| Campo |").foreign == 0
    assert QuoteSource("| a | b |\n| --- | --- |\n| c | d |").foreign
