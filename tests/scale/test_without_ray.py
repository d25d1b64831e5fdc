"""What needs no model: the base install without Ray, option checks, the Arrow columns and their round trip."""

from __future__ import annotations

import json
import sys

import pytest

from test_extras import run_cli  # the CLI in-process, some packages hidden


def test_ray_without_the_extra_is_one_line_with_the_install_command(monkeypatch, capsys, tmp_path):
    report = tmp_path / "r.txt"
    report.write_text("Proyecto Alpha. Estado: verde.", encoding="utf-8")
    code, out, err = run_cli(monkeypatch, capsys, {"ray"}, "extract", str(report), "--ray", "-o",
                             str(tmp_path / "out.jsonl"))
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and out == "" and len(lines) == 1 and "Traceback" not in err
    assert "pip install 'reportx[ray]'" in lines[0] and "ray" in lines[0]
    assert not (tmp_path / "out.jsonl").exists()


@pytest.mark.parametrize("extra_args, message", [
    (["--actors", "2"], "need --ray"),
    (["--format", "parquet", "-o", "DIR"], "need --ray"),
    (["--ray", "--actors", "0"], "--actors must be 1 or more"),
])
def test_ray_option_errors(monkeypatch, capsys, tmp_path, extra_args, message):
    report = tmp_path / "r.txt"
    report.write_text("Proyecto Alpha. Estado: verde.", encoding="utf-8")
    argv = [a.replace("DIR", str(tmp_path / "dir")) for a in extra_args]
    code, _, err = run_cli(monkeypatch, capsys, set(), "extract", str(report), *argv)
    assert code == 2 and message in err, err


def test_importing_reportx_scale_needs_no_ray(monkeypatch):
    import subprocess

    code = ("import sys; sys.modules['ray'] = None; import reportx.scale, reportx.scale.run; "
            "print('ok')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "ok", done.stderr


def test_arrow_types_of_the_builtin_schema():
    pa = pytest.importorskip("pyarrow")
    from reportx.scale.columns import record_types
    from reportx.schema import builtin_schema

    types = record_types(builtin_schema())
    assert list(types) == builtin_schema().keys
    assert types["status"] == pa.string() and types["budget_used_eur"] == pa.float64()
    assert types["blockers_today"] == pa.list_(pa.struct([("ticket_id", pa.string()), ("delay_hours", pa.float64())]))


def test_arrow_types_of_a_user_schema_fall_back_to_json_text():
    pytest.importorskip("pyarrow")
    from reportx.scale.columns import record_types
    from reportx.schema import ReportSchema

    schema = ReportSchema.from_json_schema({"type": "object", "properties": {
        "n": {"type": "integer"}, "free": {"type": "object"}, "mixed": {"type": ["string", "number"]},
        "tags": {"type": "array", "items": {"type": "string"}},
    }})
    types = record_types(schema)
    assert str(types["n"]) == "int64" and str(types["tags"]) == "list<item: string>"
    assert types["free"] == "json" and types["mixed"] == "json"


def test_result_columns_round_trip_to_the_same_lines():
    """Row -> ExtractionResult gives back the JSONL line and the errors line the actor's result gave."""
    pa = pytest.importorskip("pyarrow")
    from reportx.extract.extractor import ExtractionResult
    from reportx.scale.columns import result_columns, result_from_row
    from reportx.schema import builtin_schema

    ok = ExtractionResult(source="a.txt", sha256="1" * 64, record={
        "project_name": "Alpha", "status": "Verde", "client": None, "budget_used_eur": 4500,
        "key_milestone_completed": "Pagos", "blockers_today": [{"ticket_id": "9812", "delay_hours": 2}],
        "next_step": None}, model="m.gguf@1", adapter=None, mode="fewshot", attempts=1, prompt_tokens=10,
        completion_tokens=5, seconds=1.23456, input_notes=["1 invalid UTF-8 byte replaced with U+FFFD"])
    bad = ExtractionResult(source=None, sha256="2" * 64, error="empty report", raw_output="{", model="m.gguf@1",
                           mode="fewshot", attempts=2, constrained=True)
    table = pa.table(result_columns(builtin_schema(), [ok, bad]))
    back = [result_from_row(row) for row in table.to_pylist()]
    assert json.dumps(back[0].to_record()) == json.dumps(ok.to_record())  # 4500 stays an int, key order kept
    assert back[1].to_error() == bad.to_error()
    assert table.column("budget_used_eur").to_pylist() == [4500.0, None]
    assert table.column("error").to_pylist() == [None, "empty report"]


class _Columns:
    """A stand-in for a ``ray.data.Dataset`` as far as the driver's checks look: its columns."""

    def columns(self):
        return ["text", "id"]


@pytest.mark.parametrize("kwargs, message", [
    ({"mode": "zero"}, "--mode must be one of fewshot, finetuned, got 'zero'"),
    ({"threads_per_actor": 0}, "--threads must be between 1 and 256, got 0"),
    ({"prompt_format": "plain"}, "prompt format must be one of auto, completion, chat, got 'plain'"),
    ({"shots": -1}, "--shots must be 0 or more, got -1"),
    ({"temperature": 0.5}, "temperature is not an extraction option"),
    ({"actors": 0}, "actors must be 1 or more, got 0"),
    ({"batch_size": 0}, "batch_size must be 1 or more, got 0"),
    ({"model": "missing.gguf"}, "model file not found: "),
    ({"source_column": "source"}, "the dataset has no column 'source'"),
])
def test_extract_dataset_refuses_a_bad_option_on_the_driver_before_ray_starts(kwargs, message, monkeypatch):
    """One ReportxError line (ExtractConfig's for an extraction option), before any Ray instance or actor: Ray
    is made to look not started and to fail if started (another test of the session may hold a real one)."""
    ray = pytest.importorskip("ray")
    from reportx.errors import ReportxError
    from reportx.scale import extract_dataset

    def refuse(*args, **kwargs):
        raise AssertionError("Ray was started before the options were checked")

    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "init", refuse)
    with pytest.raises(ReportxError, match=message.replace("(", r"\(")):
        extract_dataset(_Columns(), "text", **kwargs)


def test_actor_builds_its_extractor_from_the_spec_config(monkeypatch, tmp_path):
    """The actor's Extractor gets the spec's ExtractConfig, with a shipped file's node copy for its path."""
    import reportx.extract
    import reportx.scale.actor as actor
    from reportx.extract.config import ExtractConfig

    made = {}

    class Recorder:
        schema = None

        @classmethod
        def from_config(cls, config, **kwargs):
            made.update(config=config, **kwargs)
            return cls()

    monkeypatch.setattr(reportx.extract, "Extractor", Recorder)
    monkeypatch.setattr(actor, "local_copy", lambda shipped: tmp_path / shipped.name)
    config = ExtractConfig.make(model="/driver/base.gguf", mode="fewshot", threads=2, seed=5)
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}}
    spec = actor.ActorSpec(config, "text", schema=schema, model_file=actor.ShippedFile("base.gguf", "0" * 64, None),
                           extra={"examples": []})
    actor.ExtractActor(spec)
    assert made["config"] == config.model_copy(update={"model": str(tmp_path / "base.gguf")})
    assert made["schema"] is schema and made["examples"] == []
    assert spec.local_config() == made["config"] and spec.config.model == "/driver/base.gguf"
