"""Extraction with quote answers, on the embedded model: the bundled adapter re-labelled as a quote adapter
(``reportx.answer = quotes``) answers values, so its capitalised or converted values are not quotes of the report;
the constrained retry then copies from the report. What this checks is the plumbing: grounding, spans, the
substring constraint and normalisation, whatever the adapter learnt."""

from __future__ import annotations

import pytest

from reportx.models import ANSWER_KEY, answer_format, bundled_adapter
from reportx.schema.quotes import iter_spans

pytestmark = pytest.mark.model

REPORT = ("Informe del proyecto 'Atenea'. Hoy hemos terminado la migración de la base de datos. Hubo un bug "
          "(ID: 9812) que retrasó el testing 2 días. Cliente: Financiera Andina. Presupuesto: 15.750,00 € de "
          "40.000 €. Estado: ámbar.")


def relabelled(adapter, out, answer: str):
    """A copy of a GGUF adapter whose ``reportx.answer`` says ``answer``."""
    import gguf

    from reportx.export.gguf_io import atomic_gguf_writer

    reader = gguf.GGUFReader(str(adapter))
    arch = bytes(reader.fields["general.architecture"].parts[-1]).decode()
    with atomic_gguf_writer(out, arch) as writer:
        for field in reader.fields.values():
            if field.name in ("general.architecture", "general.alignment", ANSWER_KEY) or field.name.startswith("GGUF."):
                continue
            value = field.contents()
            kind = field.types[0]
            sub = field.types[-1] if kind == gguf.GGUFValueType.ARRAY else None
            writer.add_key_value(field.name, value, kind, sub_type=sub)
        writer.add_string(ANSWER_KEY, answer)
        for tensor in reader.tensors:
            writer.add_tensor(tensor.name, tensor.data, raw_dtype=tensor.tensor_type)
    return out


@pytest.fixture(scope="module")
def quote_extractor(tmp_path_factory, model_path):
    from reportx.extract import Extractor

    from tests.extract.conftest import THREADS

    adapter = relabelled(bundled_adapter(), tmp_path_factory.mktemp("quotes") / "quotes.gguf", "quotes")
    return Extractor(model=model_path, adapter=adapter, mode="finetuned", n_threads=THREADS)


def test_the_answer_form_is_read_from_the_adapter(quote_extractor, tmp_path):
    assert answer_format(bundled_adapter()) in ("values", "quotes")
    assert answer_format(relabelled(bundled_adapter(), tmp_path / "v.gguf", "values")) == "values"
    assert quote_extractor.answer == "quotes"


def test_every_value_is_grounded_in_the_report(quote_extractor):
    result = quote_extractor.extract(REPORT, source="r1")
    assert result.ok, result.error
    spans = result.meta["spans"]
    located = list(iter_spans(spans))
    assert len(located) >= 4
    assert all(REPORT[start:end] == quote for _, start, end, quote in located)
    assert result.record["project_name"] == "Atenea"
    assert spans["project_name"][2] == "Atenea"


def test_a_constrained_answer_can_only_copy(quote_extractor):
    from reportx.extract import Extractor

    constrained = Extractor(engine=quote_extractor.engine, mode="finetuned", constrained=True)
    assert constrained.answer == "quotes"
    result = constrained.extract(REPORT)
    assert result.ok and result.meta["constrained"], result.error
    text_values = [v for v in (result.record["client"], result.record["key_milestone_completed"]) if v]
    assert all(v in REPORT for v in text_values)


def answer_from_spans(spans):
    """The quote answer that a spans tree records (each triple's quote, null where there is none)."""
    if isinstance(spans, list) and len(spans) == 3 and isinstance(spans[0], int):
        return spans[2]
    if isinstance(spans, dict):
        return {key: answer_from_spans(value) for key, value in spans.items()}
    if isinstance(spans, list):
        return [answer_from_spans(value) for value in spans]
    return spans


@pytest.mark.timeout(1800)
def test_200_reports_every_value_is_a_quote_at_its_offsets_that_normalises_to_it(model_path):
    """With the bundled quote adapter, constrained: 200 synthetic reports (validation and test styles)."""
    from reportx.extract import Extractor
    from reportx.extract.inputs import normalize_text
    from reportx.schema import builtin_schema
    from reportx.schema.quotes import to_record
    from reportx.synth import synthesize

    from tests.extract.conftest import THREADS

    if answer_format(bundled_adapter()) != "quotes":
        pytest.skip("the bundled adapter answers values")
    extractor = Extractor(model=model_path, mode="finetuned", constrained=True, n_threads=THREADS)
    texts = [e.text for e in synthesize(1200, seed=11) if e.split != "train"][:200]
    assert len(texts) == 200
    schema = builtin_schema()
    for text in texts:
        result = extractor.extract(text)
        assert result.ok, result.error
        source = normalize_text(text)  # what the input reader gives: the offsets are into it
        for _, start, end, quote in iter_spans(result.spans):
            assert source[start:end] == quote
        assert to_record(schema, answer_from_spans(result.spans))[0] == result.record
