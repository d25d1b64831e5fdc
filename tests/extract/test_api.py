"""The Python API: reportx.extract_texts -> typed Records, reportx.extract_frame -> a DataFrame, pandas optional."""

from __future__ import annotations

import pytest

import reportx
from reportx.errors import ReportxError
from reportx.schema import builtin_schema

KEYS = list(builtin_schema().keys)
TEXTS = ["Informe del proyecto 'Alpha'. Hoy hemos finalizado el despliegue del módulo de pagos. Cliente: ACME "
         "Corp. Estado: Verde. Presupuesto usado: 4500€ de 5000€.", "   "]


def test_the_api_is_exported_from_the_package():
    assert {"Extractor", "Record", "extract_texts", "extract_frame"} <= set(reportx.__all__)
    assert reportx.Record is reportx.extract.api.Record
    with pytest.raises(AttributeError):
        reportx.no_such_thing  # noqa: B018


@pytest.mark.model
def test_extract_texts_gives_one_typed_record_per_text_in_order(extractor):
    records = reportx.extract_texts(TEXTS, extractor=extractor)
    assert [type(r) for r in records] == [reportx.Record, reportx.Record]
    good, empty = records
    assert good.ok and list(good.values) == KEYS and good.error is None
    assert good.values["status"] in ("Verde", "Amarillo", "Rojo", None)  # the few-shot base model's answer
    assert good.meta["source"] == "#0" and len(good.meta["sha256"]) == 64
    assert not empty.ok and empty.values is None and empty.error == "empty report"
    assert good.to_dict()["_meta"] == good.meta and empty.to_dict()["error"] == "empty report"


@pytest.mark.model
def test_extract_texts_defaults_to_the_bundled_fine_tune_and_keeps_the_model():
    from reportx.extract import api
    from reportx.models import default_merged_model, file_id

    api.clear_cache()
    first = reportx.extract_texts(TEXTS[:1], constrained=True)
    assert first[0].ok and first[0].meta["mode"] == "finetuned"
    # the bundled adapter, merged into the default base
    assert first[0].meta["model"] == file_id(default_merged_model()) and first[0].meta["adapter"] is None
    reportx.extract_texts(TEXTS[:1], constrained=True)
    assert api._extractor.cache_info().hits == 1  # the second call did not load the model again
    api.clear_cache()


def test_extract_texts_refuses_a_bare_string():
    with pytest.raises(ReportxError, match="list of texts"):
        reportx.extract_texts("one report")


@pytest.mark.model
def test_extract_frame_adds_the_record_columns_and_drops_no_row(extractor):
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"day": ["mon", "tue", "wed"], "report": [TEXTS[0], None, TEXTS[1]]}, index=[10, 11, 12])
    out = reportx.extract_frame(df, "report", extractor=extractor)
    assert list(out.columns) == ["day", "report", *KEYS, "_meta", "error"]
    assert list(out.index) == [10, 11, 12] and list(df.columns) == ["day", "report"]  # the input is untouched
    expected = reportx.extract_texts(TEXTS[:1], extractor=extractor)[0].values
    assert {k: out.loc[10, k] for k in KEYS} == expected and out.loc[10, "error"] is None
    assert out.loc[11, "error"] == "empty report" and out.loc[11, "project_name"] is None


def test_extract_frame_errors_are_one_line(monkeypatch):
    pd = pytest.importorskip("pandas")
    with pytest.raises(ReportxError, match="no column 'text'"):
        reportx.extract_frame(pd.DataFrame({"body": ["x"]}), extractor=object())
    with pytest.raises(ReportxError, match="already has columns named like the record's: status"):
        reportx.extract_frame(pd.DataFrame({"text": ["x"], "status": [1]}),
                              extractor=type("E", (), {"schema": builtin_schema()})())
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "pandas" else real(name, *a))
    with pytest.raises(ReportxError, match=r"pip install 'reportx\[pandas\]'"):
        reportx.extract_frame(None)
