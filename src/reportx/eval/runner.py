"""``reportx eval``: run several systems over the same labelled reports through the extract API, score them
side by side, and write the table, the results JSON, a per-field error file and a chart.

A system is ``NAME=key=value,key=value`` with keys ``model`` (GGUF path; default the embedded base),
``adapter`` (GGUF LoRA; default the bundled one in finetuned mode), ``mode`` (fewshot | finetuned),
``constrained`` (true | false), ``shots`` (few-shot examples), ``merged`` (true: the model is a merged GGUF from
``reportx export --merge``, run in finetuned mode with no adapter), ``batch`` (reports decoded at once, as
``reportx extract --batch``; default 1). With no system given, the 2x2 of the brief on
the default model: few-shot vs fine-tuned, each free and grammar-constrained.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reportx.errors import ReportxError
from reportx.eval.calibration import write_coverage_chart, write_reliability_chart
from reportx.eval.reliability import confidence_pairs
from reportx.eval.report import markdown_table, write_chart, write_results
from reportx.eval.score import Prediction, field_errors, score_all
from reportx.extract.config import ExtractConfig
from reportx.labelled import read_labelled
from reportx.schema import load_schema

#: The ExtractConfig fields a system may set, by their ``--system`` key.
SYSTEM_KEYS = ("model", "adapter", "mode", "constrained", "shots", "merged", "batch", "full_head")


@dataclass(frozen=True)
class SystemSpec:
    """One system to evaluate: a name and the extraction options it runs with."""

    name: str
    config: ExtractConfig = field(default_factory=ExtractConfig)

    @classmethod
    def make(cls, name: str, **options: Any) -> SystemSpec:
        """``SystemSpec.make("ft", mode="finetuned", constrained=True)``; mode defaults to finetuned with an
        adapter or a merged model, else fewshot."""
        if options.get("mode") is None:
            options["mode"] = "finetuned" if options.get("adapter") or options.get("merged") else "fewshot"
        return cls(name, ExtractConfig.make(**options))

    @property
    def mode(self) -> str:
        return self.config.mode or "fewshot"

    @property
    def constrained(self) -> bool:
        return self.config.constrained

    @property
    def shots(self) -> int:
        return self.config.shots

    @property
    def model(self) -> str | None:
        return self.config.model

    @property
    def adapter(self) -> str | None:
        return self.config.adapter

    @property
    def merged(self) -> bool:
        return self.config.merged

    @property
    def batch(self) -> int:
        return self.config.batch

    @property
    def full_head(self) -> bool:
        return self.config.full_head

    def describe(self) -> dict[str, Any]:
        """The system as results.json records it."""
        return {"name": self.name, **{key: getattr(self, key) for key in SYSTEM_KEYS}}


def parse_system(text: str) -> SystemSpec:
    """``"ft=mode=finetuned,constrained=true"`` -> ``SystemSpec(name="ft", mode="finetuned", constrained=True)``."""
    name, sep, rest = text.partition("=")
    if not sep or not name.strip():
        raise ReportxError(f"--system expects NAME=key=value,..., got {text!r}")
    values: dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in rest.split(","))):
        key, sep, value = part.partition("=")
        if not sep:
            raise ReportxError(f"--system {name}: expected key=value, got {part!r}")
        values[key.strip()] = value.strip()
    unknown = set(values) - set(SYSTEM_KEYS)
    if unknown:
        raise ReportxError(f"--system {name}: unknown key(s) {', '.join(sorted(unknown))}")
    for key in ("constrained", "merged", "full_head"):
        flag = str(values.get(key, "false")).lower()
        if flag not in ("true", "false", "1", "0", "yes", "no"):
            raise ReportxError(f"--system {name}: {key} must be true or false")
        values[key] = flag in ("true", "1", "yes")
    try:
        return SystemSpec.make(name.strip(), **values)
    except ReportxError as exc:
        raise ReportxError(f"--system {name}: {exc}") from None


def default_systems() -> list[SystemSpec]:
    """Few-shot vs fine-tuned on the default model, each free and constrained (fine-tuned only with an adapter)."""
    from reportx.models import bundled_adapter

    systems = [SystemSpec.make("fewshot"), SystemSpec.make("fewshot+grammar", constrained=True)]
    if bundled_adapter() is not None:
        systems += [SystemSpec.make("finetuned", mode="finetuned"),
                    SystemSpec.make("finetuned+grammar", mode="finetuned", constrained=True)]
    else:
        print("reportx eval: no bundled adapter: evaluating the few-shot systems only", file=sys.stderr)
    return systems


def run_system(spec: SystemSpec, texts: list[str], schema_spec: str | None, engines: dict, quiet: bool,
                threads: int | None = None) -> list[Prediction]:
    """Extract ``texts`` with one system; ``engines`` keeps loaded models for the next system that shares them."""
    from reportx.extract import Extractor
    from reportx.progress import ItemProgress

    config = spec.config.model_copy(update={"schema_spec": schema_spec, "threads": threads or spec.config.threads})
    key = (config.model, config.adapter, config.mode, config.merged, config.full_head)
    extractor = Extractor.from_config(config, engine=engines.get(key))
    engines[key] = extractor.engine  # systems that differ only in decoding share the loaded model
    predictions = []
    with ItemProgress(spec.name, len(texts), sys.stderr, enabled=not quiet) as progress:
        for result in extractor.extract_many((f"#{i}", text) for i, text in enumerate(texts)):
            answer = result.record if result.ok else result.raw_output
            predictions.append(Prediction(answer=answer, meta=result.meta, error=result.error, scores=result.scores))
            progress.advance(failed=not result.ok)
    return predictions


def evaluate(
    data: Path,
    systems: list[SystemSpec] | None = None,
    *,
    out_dir: Path,
    schema_spec: str | None = None,
    limit: int | None = None,
    quiet: bool = False,
    chart: bool = True,
    threads: int | None = None,
) -> dict[str, dict[str, Any]]:
    """Run and score each system; write ``results.json``, ``table.md``, ``errors.jsonl`` (and ``chart.png``).

    ``threads``: llama.cpp threads per system (default: the CPUs available, at most 8).
    """
    schema = load_schema(schema_spec)
    gold = read_labelled(data, schema, limit=limit)
    systems = systems or default_systems()
    names = [s.name for s in systems]
    if len(set(names)) != len(names):
        raise ReportxError("two systems share a name")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    engines: dict = {}
    results: dict[str, dict[str, Any]] = {}
    errors: list[dict[str, Any]] = []
    confidences: dict[str, tuple[list[float], list[bool]]] = {}
    for spec in systems:
        if not quiet:
            print(f"reportx eval: {spec.name}: {len(gold)} reports", file=sys.stderr, flush=True)
        start = time.perf_counter()
        predictions = run_system(spec, [g.text for g in gold], schema_spec, engines, quiet, threads)
        wall = time.perf_counter() - start
        summary, scored = score_all(schema, gold, predictions)
        # Throughput over the system's whole run (its model's loading included): with batch > 1 reports are in
        # flight together, so the sum of their latencies, which summarise_costs divides by, overstates the time.
        summary["wall_s"] = round(wall, 2)
        summary["reports_per_second"] = len(gold) / wall if wall > 0 else None
        summary["system"] = spec.describe()
        results[spec.name] = summary
        errors += field_errors(scored, system=spec.name)
        pairs = confidence_pairs(scored)
        if pairs[0]:
            confidences[spec.name] = pairs
    write_results(out_dir / "results.json", results, {"data": str(data), "reports": len(gold)})
    (out_dir / "table.md").write_text(markdown_table(results), encoding="utf-8")
    with (out_dir / "errors.jsonl").open("w", encoding="utf-8") as handle:
        for row in errors:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    if chart:
        write_chart(out_dir / "chart.png", results)
        if confidences:  # beside the accuracy chart: how far each system's confidence can be trusted
            write_reliability_chart(out_dir / "reliability.png", confidences)
            write_coverage_chart(out_dir / "coverage.png", confidences)
    return results
