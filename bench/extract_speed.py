"""Extraction throughput: reportx against what a user writes without it, and against the machine's bound.

Prints, from one run on one machine, one markdown table with these rows, each run in a process of its own (so
that its peak RSS is its own) over the same synthetic reports, model loading left out of the times:

* **naive peer**: a hand-written 3-shot prompt through raw llama-cpp-python (``Llama.create_completion``) with
  its JSON-Schema GBNF grammar (``LlamaGrammar.from_json_schema``), greedy, one report at a time, the base model
  (no fine-tuned adapter exists without reportx). It is slow, so it runs on the first ``--peer-n`` reports.
* **reportx sequential**: ``reportx extract`` one report at a time (``--batch 1``), its default model, with the
  whole output head in llama.cpp (``--full-head``): reportx before its split head (:mod:`reportx.extract.head`).
* **reportx batched**: the same with ``--batch B`` reports decoded at once (``reportx.extract.batched``). With
  ``--workers N`` > 1 (by default, as many as ``reportx extract`` would run: one per CPU on more reports than
  a batch holds): in N worker processes (``reportx extract --workers N``, ``reportx.extract.workers``), each
  with its own model, ``--batch-threads`` threads and every N-th report; the time runs from the fork to the last
  result, model loading included (a worker decodes its first reports together, so no warm-up report can be timed
  apart: an earlier version that started the clock at the warm-up results left most of the first batches out);
  peak RSS is the parent's plus N times the largest worker's (the model file's pages, mapped by every worker,
  counted in each).
* **body-only bound**: the tokens the sequential run evaluated (each report's own prompt tokens and its
  answer), in batches of ``B`` sequences with no logits at all: what the transformer body alone costs. No
  extraction can beat it without evaluating fewer tokens.

Then: how many of the batched records equal the sequential ones, each differing report with the near-tie that
explains it (the first token where the two answers part, and the probability each run gave its own choice), and
field accuracy of both against the gold records.

    python bench/extract_speed.py --n 200 --split test --peer-n 20 --batch 16
    python bench/extract_speed.py --n 128 --skip peer bound --batch 16 --batch-threads 2 --workers 1
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SYSTEMS = ("peer", "sequential", "batched", "bound")
PEER_PROMPT = """Extract the daily project report below into JSON with the keys project_name, status (Verde, Amarillo or Rojo), client, budget_used_eur (number), key_milestone_completed, blockers_today (list of {{"ticket_id", "delay_hours"}}) and next_step. Use null when the report does not say.

{examples}Report:
{report}
JSON:
"""


def peak_rss_mb() -> float:
    """This process's peak resident set (VmHWM), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")  # pragma: no cover - not Linux


def cpu_model() -> str:
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout.splitlines():
            if line.startswith("Model name:"):
                flags = Path("/proc/cpuinfo").read_text()
                amx = "AMX" if "amx_tile" in flags else "no AMX"
                avx = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "no AVX2"
                return f"{line.split(':', 1)[1].strip()}, {avx}, {amx}"
    except (OSError, subprocess.CalledProcessError):
        pass
    return platform.processor() or platform.machine()


def llama_build() -> str:
    """The llama.cpp build and settings (reportx.llamacpp), for the table's header."""
    from reportx.llamacpp import batch_invariant, describe_build

    return describe_build() + ("" if batch_invariant() else ": batched records may differ")


# Children: one system each ---------------------------------------------------------------------------------------


def run_peer(reports: list[dict], threads: int) -> dict:
    from llama_cpp import LlamaGrammar

    from reportx.llamacpp import load_llama
    from reportx.models import default_base_model
    from reportx.prompts import FEWSHOT_EXAMPLES
    from reportx.schema import builtin_schema

    schema = builtin_schema()
    examples = "".join(f"Report:\n{text}\nJSON:\n{json.dumps(record, ensure_ascii=False)}\n\n"
                       for text, record in FEWSHOT_EXAMPLES[:3])
    llm = load_llama(str(default_base_model()), n_ctx=4096, n_threads=threads, n_threads_batch=threads, verbose=False)
    grammar = LlamaGrammar.from_json_schema(json.dumps(schema.json_schema), verbose=False)
    out = []
    start = time.perf_counter()
    for r in reports:
        t0 = time.perf_counter()
        completion = llm.create_completion(PEER_PROMPT.format(examples=examples, report=r["text"]), max_tokens=256,
                                           temperature=0.0, grammar=grammar)
        text = completion["choices"][0]["text"]
        try:
            record = schema.validate(json.loads(text))
        except Exception:  # noqa: BLE001 - the peer's answer is whatever it is; invalid counts as invalid
            record = None
        out.append({"record": record, "seconds": time.perf_counter() - t0,
                    "tokens": completion["usage"]["completion_tokens"]})
    return {"wall": time.perf_counter() - start, "reports": out}


def run_reportx(reports: list[dict], threads: int, batch: int, constrained: bool, full_head: bool = False) -> dict:
    from reportx.extract import Extractor
    from reportx.extract.config import ExtractConfig

    extractor = Extractor(config=ExtractConfig.make(threads=threads, batch=batch, constrained=constrained,
                                                    full_head=full_head))
    list(extractor.extract_many([("warm-up", reports[0]["text"])]))  # the prompt prefix, as in any long batch
    start = time.perf_counter()
    results = list(extractor.extract_many([(r["id"], r["text"]) for r in reports]))
    wall = time.perf_counter() - start
    return {"wall": wall, "reports": [_row(res) for res in results], "prefix": len(extractor._prefix_tokens)}


def run_reportx_workers(reports: list[dict], threads: int, batch: int, constrained: bool, workers: int) -> dict:
    """The batched row in ``workers`` processes, as ``reportx extract --workers`` runs them. The wall time runs from
    the fork to the last result, the workers' model loading and prompt prefix included (the one-process rows leave
    theirs out): a worker decodes its first reports together, so a warm-up report cannot be timed apart."""
    import resource

    from reportx.extract.config import ExtractConfig
    from reportx.extract.inputs import InputItem
    from reportx.extract.workers import WorkerPool

    config = ExtractConfig.make(threads=threads, batch=batch, constrained=constrained, workers=workers)
    start = time.perf_counter()
    with WorkerPool(config, None, [InputItem(r["id"], r["text"]) for r in reports]) as pool:
        done = list(pool.results())
    wall = time.perf_counter() - start
    largest_worker_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the workers are joined
    return {"wall": wall, "reports": [_row(res) for res in done],
            "peak_rss_mb": peak_rss_mb() + workers * largest_worker_mb}


def _row(res) -> dict:
    """What the table and the comparisons use of one ExtractionResult."""
    gen = res.generations[-1] if res.generations else None
    return {
        "record": res.record, "error": res.error, "raw": res.raw_output, "seconds": res.seconds,
        "prompt": res.prompt_tokens, "evaluated": res.evaluated_tokens, "chosen_n": res.completion_tokens,
        "forced": res.forced_tokens, "attempts": res.attempts,
        "chosen": [[c.start, c.end, c.probability] for c in gen.chosen] if gen else [],
        "tokens": [t for g in res.generations for t in g.tokens],
    }


def run_bound(sequential: dict, threads: int, batch: int) -> dict:
    """Evaluate each report's own tokens (prompt after the shared prefix, then its answer tokens) in batches of
    ``batch`` sequences, no logits: the body's cost for the tokens sequential extraction evaluated."""
    from body_bound import evaluate  # bench/, beside this script

    from reportx.extract import Extractor
    from reportx.extract.config import ExtractConfig

    extractor = Extractor(config=ExtractConfig.make(threads=threads))
    prefix = extractor.prompt_tokens(sequential["texts"][0])[: sequential["prefix"]]
    work = [extractor.prompt_tokens(text)[len(prefix):] + r["tokens"]
            for text, r in zip(sequential["texts"], sequential["reports"], strict=True)]
    wall = evaluate(extractor.engine, prefix, work, batch, 8, threads)  # 8 tokens a step, like an answer's runs
    return {"wall": wall, "tokens": sum(len(w) for w in work)}


def child(args: argparse.Namespace) -> int:
    payload = json.loads(Path(args.input).read_text())
    reports = payload["reports"]
    if args.system == "peer":
        result = run_peer(reports[: args.peer_n], args.threads)
    elif args.system == "sequential":
        result = run_reportx(reports, args.threads, 1, args.constrained, full_head=True)
    elif args.system == "batched" and args.workers > 1:
        result = run_reportx_workers(reports, args.batch_threads, args.batch, args.constrained, args.workers)
    elif args.system == "batched":
        result = run_reportx(reports, args.batch_threads, args.batch, args.constrained)
    else:
        sequential = payload["sequential"]
        sequential["texts"] = [r["text"] for r in reports]
        result = run_bound(sequential, args.batch_threads, args.batch)
    result.setdefault("peak_rss_mb", peak_rss_mb())
    Path(args.output).write_text(json.dumps(result, ensure_ascii=False))
    return 0


# The parent: reports, children, table ----------------------------------------------------------------------------


def field_accuracy(results: list[dict], reports: list[dict]) -> float:
    from reportx.eval.metrics import field_kinds, score_report, summarise
    from reportx.schema import builtin_schema

    kinds = field_kinds(builtin_schema().json_schema)
    scores = [score_report(kinds, r["gold"], res["record"], parsed=res["record"] is not None,
                           valid=res["record"] is not None) for res, r in zip(results, reports, strict=True)]
    return 100 * summarise(kinds, scores)["field_accuracy"]


def near_tie(seq: dict, bat: dict) -> str:
    """Where two answers part: the first token the model chose differently in the two runs, and the probability
    each run gave its own choice (two choices near 0.5 each: a near-tie that rounding can tip)."""
    a, b = seq["raw"].encode(), bat["raw"].encode()
    for (s1, e1, p1), (s2, e2, p2) in zip(seq["chosen"], bat["chosen"], strict=False):
        if (s1, e1) != (s2, e2) or a[s1:e1] != b[s2:e2]:
            before = a[max(0, s1 - 30):s1].decode("utf-8", "replace")
            return (f"after ...{before!r}: sequential chose {a[s1:e1].decode('utf-8', 'replace')!r} (p={p1:.2f}), "
                    f"batched {b[s2:e2].decode('utf-8', 'replace')!r} (p={p2:.2f})")
    return "same chosen tokens; the answers differ in forced text or validation"


def spawn(system: str, args: argparse.Namespace, payload: dict, tmp: Path) -> dict:
    source, target = tmp / f"{system}.in.json", tmp / f"{system}.out.json"
    source.write_text(json.dumps(payload, ensure_ascii=False))
    command = [sys.executable, __file__, "--child", system, "--input", str(source), "--output", str(target),
               "--threads", str(args.threads), "--batch", str(args.batch), "--batch-threads", str(args.batch_threads),
               "--peer-n", str(args.peer_n), "--workers", str(args.workers)] + (["--constrained"] if args.constrained else [])
    print(f"bench: running {system} ...", file=sys.stderr, flush=True)
    subprocess.run(command, check=True)
    return json.loads(target.read_text())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=200, help="synthetic reports (default 200)")
    ap.add_argument("--split", default="test", choices=["val", "test"], help="synth split (default test)")
    ap.add_argument("--seed", type=int, default=0, help="synth seed (default 0: the data/ splits)")
    ap.add_argument("--peer-n", type=int, default=20, help="reports for the naive peer (default 20; it is slow)")
    ap.add_argument("--batch", type=int, default=16, help="reports in flight for the batched row (default 16)")
    ap.add_argument("--threads", type=int, default=1, help="llama.cpp threads, sequential rows (default 1)")
    ap.add_argument("--batch-threads", type=int, default=1, help="llama.cpp threads, batched rows (default 1; per "
                    "worker with --workers)")
    ap.add_argument("--workers", type=int, default=None, help="worker processes for the batched row, as reportx "
                    "extract --workers (default: as reportx extract picks them for --n reports and --batch-threads "
                    "threads each, reportx.extract.workers.auto_workers)")
    ap.add_argument("--constrained", action="store_true", help="reportx rows decode constrained (default: free, "
                    "with a constrained retry, as reportx extract)")
    ap.add_argument("--skip", nargs="*", default=[], choices=SYSTEMS, help="rows to leave out")
    ap.add_argument("--json", help="also write every figure to this file")
    ap.add_argument("--child", choices=SYSTEMS, help=argparse.SUPPRESS)
    ap.add_argument("--input", help=argparse.SUPPRESS)
    ap.add_argument("--output", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.workers is None:
        from reportx.extract.config import ExtractConfig
        from reportx.extract.workers import auto_workers

        args.workers = auto_workers(ExtractConfig.make(batch=args.batch, threads=args.batch_threads), args.n)
    if args.child:
        args.system = args.child
        return child(args)

    from reportx.synth import synthesize

    pool = [e for e in synthesize(n=max(2000, args.n * 12), seed=args.seed) if e.split == args.split][: args.n]
    reports = [{"id": f"{args.split}-{i}", "text": e.text, "gold": e.gold} for i, e in enumerate(pool)]
    load_before = os.getloadavg()
    out: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for system in ("sequential", "batched", "peer"):
            if system not in args.skip:
                out[system] = spawn(system, args, {"reports": reports}, Path(tmp))
        if "bound" not in args.skip and "sequential" in out:
            out["bound"] = spawn("bound", args, {"reports": reports, "sequential": out["sequential"]}, Path(tmp))
    load_after = os.getloadavg()

    print("## reportx extraction throughput\n")
    print(f"- machine: {cpu_model()}, {os.cpu_count()} CPUs; load average before "
          f"{'/'.join(f'{x:.1f}' for x in load_before)}, after {'/'.join(f'{x:.1f}' for x in load_after)}")
    print(f"- llama.cpp: {llama_build()}")
    from reportx.extract.extractor import resolve_setup

    setup = resolve_setup()  # what the reportx rows load: the default model and fine-tune
    loads = setup.model_path.name + (f" + {setup.adapter_path.name}" if setup.adapter_path else "")
    print(f"- {len(reports)} synthetic {args.split} reports (seed {args.seed}); naive peer on the first "
          f"{min(args.peer_n, len(reports))}; reportx: {loads}, "
          f"{'constrained' if args.constrained else 'free decoding with a constrained retry'}\n")
    print("| system | llama.cpp threads | reports | reports/s | s/report (latency) | peak RSS MB |")
    print("|---|---|---|---|---|---|")
    rates = {}
    for system, label, threads in (
        ("peer", "naive peer: 3-shot prompt, llama-cpp-python GBNF grammar, base model", args.threads),
        ("sequential", "reportx sequential (--batch 1 --full-head)", args.threads),
        ("batched", f"reportx batched (--batch {args.batch})" if args.workers <= 1 else
         f"reportx batched, {args.workers} workers (--batch {args.batch} each)", args.batch_threads),
    ):
        if system not in out:
            continue
        rows = out[system]["reports"]
        rates[system] = len(rows) / out[system]["wall"]
        latency = sum(r["seconds"] for r in rows) / len(rows)
        per = " per worker" if system == "batched" and args.workers > 1 else ""
        print(f"| {label} | {threads}{per} | {len(rows)} | {rates[system]:.2f} | {latency:.2f} | "
              f"{out[system]['peak_rss_mb']:.0f} |")
    if "bound" in out:
        bound = out["bound"]
        print(f"| body-only bound: the sequential run's tokens ({bound['tokens'] / len(reports):.0f} a report), "
              f"{args.batch} sequences a batch, no logits | {args.batch_threads} | {len(reports)} | "
              f"{len(reports) / bound['wall']:.2f} | - | {bound['peak_rss_mb']:.0f} |")
    if "peer" in rates and "batched" in rates:
        print(f"\nreportx batched: {rates['batched'] / rates['peer']:.1f}x the naive peer, "
              f"{rates['batched'] / rates.get('sequential', float('nan')):.2f}x reportx sequential.")
    if "sequential" in out and "batched" in out:
        seq, bat = out["sequential"]["reports"], out["batched"]["reports"]
        same = [a["record"] == b["record"] and a["error"] == b["error"] for a, b in zip(seq, bat, strict=True)]
        print(f"\nRecords equal to the sequential ones: {sum(same)}/{len(same)} ({100 * sum(same) / len(same):.1f}%). "
              f"Field accuracy against the gold: sequential {field_accuracy(seq, reports):.1f}%, batched "
              f"{field_accuracy(bat, reports):.1f}%.")
        for ok, a, b, r in zip(same, seq, bat, reports, strict=True):
            if not ok:
                print(f"- {r['id']}: {near_tie(a, b)}")
    if args.json:
        Path(args.json).write_text(json.dumps(out, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
