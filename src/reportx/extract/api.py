"""The Python API for extraction in a script or a notebook: texts in, typed records out.

>>> import reportx
>>> records = reportx.extract_texts(["Proyecto Zafiro: piloto cerrado. Estado: verde. Cliente: Acme."])
>>> records[0].values["status"], records[0].ok
('Verde', True)
>>> frame = reportx.extract_frame(df, "report")   # a pandas DataFrame: df's columns + the record's

Every text gives one :class:`Record`, in order: the validated values, or ``error`` saying why not (nothing is
dropped), and ``meta``, the provenance a JSONL output carries as ``_meta``. The model is loaded once per
distinct set of model options and kept for the next call (``reportx.extract.api.clear_cache()`` frees it).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

from reportx.errors import ReportxError, require_extra
from reportx.extract.config import DEFAULT_BATCH
from reportx.extract.extractor import ExtractionResult, Extractor

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class Record:
    """One report's outcome.

    Attributes:
        values: the record, keys in schema order, normalised by the schema; None when extraction failed.
        error: why there is no record (empty text, too long, still invalid after the constrained retry).
        meta: provenance: source, sha256 of the text, model and adapter ids, mode, attempts, tokens, seconds;
            per-field ``confidence``; with a quoting adapter, ``spans`` (where each value is in the text).
    """

    values: dict[str, Any] | None
    error: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.values is not None

    @property
    def confidence(self) -> dict[str, float]:
        """Per field, the probability that its value is right (calibrated for the bundled adapter); {} for an
        error (see docs/confidence.md)."""
        return dict(self.meta.get("confidence") or {})

    def to_dict(self) -> dict[str, Any]:
        """The JSONL line ``reportx extract`` writes: the values then ``_meta``, or the error record."""
        if self.values is not None:
            return {**self.values, "_meta": self.meta}
        return {"error": self.error, **self.meta}

    @classmethod
    def from_result(cls, result: ExtractionResult) -> Record:
        return cls(values=result.record, error=result.error, meta=result.meta)


@lru_cache(maxsize=2)
def _extractor(model: str | None, adapter: str | None, mode: str | None, constrained: bool, schema: Any,
               threads: int | None, batch: int = DEFAULT_BATCH) -> Extractor:
    return Extractor(model=model, adapter=adapter, mode=mode, constrained=constrained, schema=schema,
                     n_threads=threads, batch=batch)


def clear_cache() -> None:
    """Free the models kept by :func:`extract_texts` and :func:`extract_frame`."""
    _extractor.cache_clear()


def extract_texts(
    texts: Iterable[str],
    *,
    model: str | None = None,
    adapter: str | None = None,
    mode: Literal["fewshot", "finetuned"] | None = None,
    constrained: bool = False,
    schema: Any = None,
    threads: int | None = None,
    batch: int = DEFAULT_BATCH,
    extractor: Extractor | None = None,
) -> list[Record]:
    """Extract one :class:`Record` per text, in order.

    Args:
        texts: the reports' texts.
        model, adapter, mode, constrained, threads, batch: as ``reportx extract`` takes them (default: the embedded
            model with the bundled adapter, free decoding with a constrained retry, 16 reports decoded at once).
        schema: None (built-in), a Pydantic model class, a JSON Schema file path or a ``module:Class`` spec.
        extractor: an :class:`~reportx.extract.Extractor` you built, instead of the options above.
    """
    if isinstance(texts, str):
        raise ReportxError("extract_texts takes a list of texts; for one text, pass [text]")
    if extractor is None:
        extractor = _get_extractor(model, adapter, mode, constrained, schema, threads, batch)
    return [Record.from_result(r) for r in extractor.extract_many((f"#{i}", text) for i, text in enumerate(texts))]


def _get_extractor(model: str | None = None, adapter: str | None = None, mode: str | None = None,
                   constrained: bool = False, schema: Any = None, threads: int | None = None,
                   batch: int = DEFAULT_BATCH) -> Extractor:
    try:
        return _extractor(model, adapter, mode, constrained, schema, threads, batch)
    except TypeError:  # an unhashable schema (a JSON Schema dict): not cached
        return Extractor(model=model, adapter=adapter, mode=mode, constrained=constrained, schema=schema,
                         n_threads=threads, batch=batch)


def extract_frame(df: pd.DataFrame, column: str = "text", **options: Any) -> pd.DataFrame:
    """A copy of ``df`` with the record's fields as columns (blockers as a list of dicts), ``_meta`` (a dict per
    row) and ``error`` (None where the row succeeded). Rows keep their order and index; none is dropped.

    ``options``: those of :func:`extract_texts`. Needs pandas (``pip install 'reportx[pandas]'``).
    """
    require_extra("pandas", "extract_frame")
    import pandas as pd

    if column not in df.columns:
        raise ReportxError(f"no column {column!r} in the DataFrame (columns: {', '.join(map(str, df.columns))})")
    texts = ["" if pd.isna(value) else str(value) for value in df[column]]
    extractor = options.pop("extractor", None) or _get_extractor(**options)
    keys = list(extractor.schema.keys)
    clashes = [k for k in [*keys, "_meta", "error"] if k in df.columns]
    if clashes:
        raise ReportxError(f"the DataFrame already has columns named like the record's: {', '.join(clashes)}")
    records = extract_texts(texts, extractor=extractor)
    out = df.copy()
    columns = {key: [r.values.get(key) if r.values is not None else None for r in records] for key in keys}
    columns.update(_meta=[r.meta for r in records], error=[r.error for r in records])
    for name, values in columns.items():  # object columns: None stays None, 4500 stays an int, lists stay lists
        out[name] = pd.Series(values, index=out.index, dtype=object)
    return out
