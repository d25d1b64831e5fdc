"""A stand-in for the model, for batch and CLI tests of everything around it (outputs, locks, option checks).

In-process: ``run_batch(opts, extractor=FakeExtractor())``. As a process: ``python fake_extract.py extract ...``
runs the real ``reportx`` CLI (``reportx.cli.main``) with :class:`FakeExtractor` in place of the model.

A report's text is its record, as a JSON object (missing keys filled from :data:`BASE`); any other text gives
:data:`BASE` with the text as project_name. ``REPORTX_FAKE_GATE=PATH`` makes the second report wait until PATH
exists, so that a test can act while a run holds its output, one record written.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from reportx.extract.extractor import ExtractionResult
from reportx.extract.inputs import InputItem
from reportx.schema import builtin_schema

BASE: dict[str, Any] = {"project_name": "Alpha", "status": "Verde", "client": "ACME", "budget_used_eur": 100,
                        "key_milestone_completed": None, "blockers_today": [], "next_step": None}


FAKE_MODEL = "fake.gguf@000000000000"


class FakeSetup:
    """What :func:`reportx.extract.extractor.resolve_setup` gives for the fake: the id its records carry."""

    made_by = (FAKE_MODEL, None, "fewshot")


class FakeExtractor:
    """Duck-typed :class:`reportx.extract.Extractor`: ``schema``, ``notices``, the ids, ``extract_item`` and
    ``extract_many``."""

    model_id, adapter_id, mode = FakeSetup.made_by

    def __init__(self, schema=None, **_model_settings: Any) -> None:
        self.schema = schema if schema is not None else builtin_schema()
        self.notices: list[str] = []
        self.calls = 0

    @classmethod
    def from_config(cls, _config: Any, *, schema=None, **_settings: Any) -> FakeExtractor:
        return cls(schema=schema)

    def extract_many(self, items):
        """Lazily, in order, as the real one: the batch job writes each record before the next is extracted."""
        for item in items:
            yield self.extract_item(item)

    def extract_item(self, item: InputItem) -> ExtractionResult:
        """The record the report's text spells out, or an error result for an input without text."""
        self.calls += 1
        gate = os.environ.get("REPORTX_FAKE_GATE")
        if gate and self.calls == 2:
            deadline = time.monotonic() + 120
            while not Path(gate).exists() and time.monotonic() < deadline:
                time.sleep(0.05)
        if item.text is None or not item.text.strip():
            return ExtractionResult(source=item.source, sha256=item.sha256, error=item.error or "empty report",
                                    model=FAKE_MODEL, mode="fewshot")
        try:
            parsed = json.loads(item.text)
        except ValueError:
            parsed = None
        record = {**BASE, **parsed} if isinstance(parsed, dict) else {**BASE, "project_name": item.text.strip()[:40]}
        return ExtractionResult(source=item.source, sha256=item.sha256, record=record,
                                raw_output=json.dumps(record, ensure_ascii=False), model=FAKE_MODEL,
                                mode="fewshot", attempts=1, prompt_tokens=10, completion_tokens=5, seconds=0.01)


if __name__ == "__main__":
    import reportx.extract.extractor as extractor_module
    from reportx.cli import main

    extractor_module.Extractor = FakeExtractor  # batch.py imports it from there when it needs a model
    extractor_module.resolve_setup = lambda *args, **kwargs: FakeSetup()  # and this, to check resume
    sys.argv[0] = "reportx"
    main()
