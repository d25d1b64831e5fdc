"""Reports per second with Ray actors (``reportx.scale.extract_dataset``) next to the single process.

Prints one markdown table, from one run on one machine: the single-process extraction (one ``Extractor``, the
loop ``reportx extract`` runs) and Ray Data with 1, 2, ... actors of ``--threads-per-actor`` llama.cpp threads
each, on the same synthetic reports (val split). Per system:

Systems run in rounds (``--rounds``, default 2), forward then backward, and each row sums its rounds.

* wall reports/s: reports / seconds from the start (model loads and actor start-up included) to the last
  record; Ray's own start (``ray.init``) is not included, it is paid once per cluster, not per batch;
* busy reports/s per worker: 1 / mean ``_meta.seconds``, the rate of one actor (or the process) while it
  extracts: the figure to multiply by the number of actors of a bigger cluster (docs/scale-out.md).

Then the CPU (``lscpu`` model name and AVX2 / AVX-512 / AMX flags) and the load average before and after, since
on a shared machine other processes take cores from the run.

    python bench/scale_out.py --n 20
    python bench/scale_out.py --n 40 --actors 1,2 --threads-per-actor 1 --json-out scale.json
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path


def cpu_description() -> dict[str, object]:
    """``lscpu``'s model name, the vector/matrix extensions llama.cpp uses, and the CPUs this process may use."""
    info: dict[str, object] = {"model": platform.processor() or platform.machine(), "cpus": len(os.sched_getaffinity(0))}
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return info
    fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    flags = set(fields.get("Flags", "").split())
    info["model"] = fields.get("Model name", str(info["model"])).strip()
    info["avx2"] = "avx2" in flags
    info["avx512"] = sorted(f for f in flags if f.startswith("avx512")) or False
    info["amx"] = sorted(f for f in flags if f.startswith("amx")) or False
    return info


def load_reports(n: int, seed: int) -> list[tuple[str, str]]:
    """(source, text) of ``n`` synthetic val-split reports."""
    from reportx.synth import synthesize

    examples = [e for e in synthesize(n=max(200, 20 * n), seed=seed) if e.split == "val"][:n]
    if len(examples) < n:
        sys.exit(f"only {len(examples)} val reports for seed {seed}; ask for fewer")
    return [(f"report-{i:04d}", e.text) for i, e in enumerate(examples)]


def run_single(reports: list[tuple[str, str]], threads: int) -> dict[str, object]:
    """The single process: one Extractor, the reports one after another."""
    from reportx.extract import Extractor

    start = time.perf_counter()
    extractor = Extractor(n_threads=threads)
    results = [extractor.extract(text, source=source) for source, text in reports]
    wall = time.perf_counter() - start
    seconds = [r.seconds for r in results]
    return {"system": f"single process, {threads} thread{'s' if threads > 1 else ''}", "workers": 1, "wall_s": wall,
            "ok": sum(r.ok for r in results), "busy_s": seconds,
            "records": {r.source: r.record for r in results}}


def run_ray(reports: list[tuple[str, str]], actors: int, threads: int, batch_size: int) -> dict[str, object]:
    """``extract_dataset`` with ``actors`` actors on the running Ray instance; every row collected."""
    import ray.data

    from reportx.scale import extract_dataset

    ds = ray.data.from_items([{"source": s, "text": t} for s, t in reports])
    start = time.perf_counter()
    out = extract_dataset(ds, "text", source_column="source", actors=actors, threads_per_actor=threads,
                          batch_size=batch_size)
    rows = out.take_all()
    wall = time.perf_counter() - start
    return {"system": f"Ray, {actors} actor{'s' if actors > 1 else ''} x {threads} thread{'s' if threads > 1 else ''}",
            "workers": actors, "wall_s": wall, "ok": sum(r["error"] is None for r in rows),
            "busy_s": [json.loads(r["_meta"])["seconds"] for r in rows],
            "records": {r["source"]: (json.loads(r["_record"]) if r["_record"] else None) for r in rows}}


def merge(runs: list[dict[str, object]]) -> dict[str, object]:
    """One system's rounds as one row: wall times and ok counts summed, busy times pooled, records of round 1
    (and "differs" if a later round's records were not the same)."""
    first = runs[0]
    same = all(run["records"] == first["records"] for run in runs)
    return {"system": first["system"], "workers": first["workers"], "wall_s": sum(r["wall_s"] for r in runs),
            "ok": sum(r["ok"] for r in runs), "busy_s": [s for r in runs for s in r["busy_s"]],
            "records": first["records"] if same else {"differs between rounds": True}}


def table(rows: list[dict[str, object]], n: int) -> str:
    lines = ["| system | reports | wall s | wall reports/s | busy reports/s per worker | same records as single |",
             "|---|---:|---:|---:|---:|---|"]
    reference = rows[0]["records"]
    for row in rows:
        busy = statistics.mean(row["busy_s"])
        same = "yes" if row["records"] == reference else "NO"
        lines.append(f"| {row['system']} | {n} ({row['ok']} ok) | {row['wall_s']:.1f} | {n / row['wall_s']:.2f} | "
                     f"{1 / busy:.2f} | {same} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20, help="reports (default 20)")
    parser.add_argument("--actors", default="1,2", help="actor counts to run, comma-separated (default 1,2)")
    parser.add_argument("--threads-per-actor", type=int, default=1, help="llama.cpp threads per actor (default 1)")
    parser.add_argument("--single-threads", type=int, default=1, help="threads of the single process (default 1)")
    parser.add_argument("--batch-size", type=int, default=4, help="reports per actor call (default 4)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds over all systems, alternately forward and "
                        "backward (default 2)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json-out", type=Path, help="also write the figures as JSON")
    args = parser.parse_args()

    import ray
    from ray.data import DataContext

    reports = load_reports(args.n, args.seed)
    cpu = cpu_description()
    load_before = os.getloadavg()
    t0 = time.perf_counter()
    ray.init(num_cpus=cpu["cpus"], include_dashboard=False, log_to_driver=False)
    ray_init_s = time.perf_counter() - t0
    DataContext.get_current().enable_progress_bars = False
    logging.getLogger("ray.data").setLevel(logging.WARNING)
    systems = [0] + [int(a) for a in args.actors.split(",")]  # 0: the single process
    runs: dict[int, list[dict[str, object]]] = {system: [] for system in systems}
    try:
        for round_ in range(args.rounds):
            # Forward, then backward: load from other processes that grows or fades during the run hits all alike.
            for system in systems if round_ % 2 == 0 else systems[::-1]:
                if system == 0:
                    runs[system].append(run_single(reports, args.single_threads))
                else:
                    runs[system].append(run_ray(reports, system, args.threads_per_actor, args.batch_size))
    finally:
        ray.shutdown()
    load_after = os.getloadavg()
    rows = [merge(runs[system]) for system in systems]
    print(table(rows, args.n * args.rounds))
    print()
    ext = ", ".join(name for name in ("avx2", "avx512", "amx") if cpu.get(name)) or "none of AVX2/AVX-512/AMX"
    print(f"CPU: {cpu['model']} ({ext}); {cpu['cpus']} CPUs for this process; ray.init {ray_init_s:.1f} s (not in "
          f"the wall times); load average before {load_before[0]:.2f}, after {load_after[0]:.2f}")
    if args.json_out:
        slim = [{k: v for k, v in row.items() if k != "records"} for row in rows]
        args.json_out.write_text(json.dumps({"n": args.n, "rounds": args.rounds, "cpu": cpu, "ray_init_s": ray_init_s, "rows": slim,
                                             "load_before": load_before, "load_after": load_after}, indent=1))


if __name__ == "__main__":
    main()
