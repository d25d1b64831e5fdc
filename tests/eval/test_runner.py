"""reportx eval's runner: throughput is measured, not summed from overlapping latencies."""

from __future__ import annotations

import json
import time

from reportx.eval import runner
from reportx.eval.score import Prediction
from reportx.schema import builtin_schema
from reportx.synth import synthesize


def test_reports_per_second_is_reports_over_wall_time_when_latencies_overlap(monkeypatch, tmp_path):
    schema = builtin_schema()
    examples = [e for e in synthesize(60, 2) if e.split == "val"][:4]
    data = tmp_path / "val.jsonl"
    data.write_text("".join(json.dumps({"input": e.text, "output": schema.dumps(e.gold)}) + "\n" for e in examples),
                    encoding="utf-8")

    def batched(spec, texts, *args, **kwargs):
        # Four reports decoded together in 0.2 s: each one's latency is the whole 0.2 s.
        time.sleep(0.2)
        return [Prediction(answer=e.gold, meta={"seconds": 0.2, "prompt_tokens": 10, "completion_tokens": 5})
                for e in examples]

    monkeypatch.setattr(runner, "run_system", batched)
    results = runner.evaluate(data, [runner.parse_system("x=mode=finetuned")], out_dir=tmp_path / "out", quiet=True,
                              chart=False)
    summary = results["x"]
    assert 0.2 <= summary["wall_s"] < 0.4
    # n / wall = 4 / ~0.2 s, not n / the sum of the latencies = 4 / 0.8 s = 5
    assert summary["reports_per_second"] > 10
    assert summary["latency_p50_s"] == 0.2
