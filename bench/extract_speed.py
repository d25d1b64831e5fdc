"""How fast is extraction, and how close to llama.cpp's own decode rate?

Prints one markdown table, from one run on one machine: reports/second, latency and tokens per report for
few-shot and fine-tuned extraction (the latter when an adapter is given or bundled), each with free decoding
(schema-monitored, constrained retry on failure) and constrained decoding, next to

* llama-cpp-python's own GBNF grammar from the JSON Schema (``LlamaGrammar.from_json_schema``), the usual way
  to constrain, on the same prompts (``--gbnf``, on by default for few-shot), and
* the raw llama-cpp-python decode of the *same tokens* the free few-shot run generated: ``Llama.eval`` of the
  uncached prompt part and then of each answer token, one at a time, with no sampling and no Python per token
  beyond the call. That is the bound extraction cannot beat without generating fewer tokens (constrained
  decoding does generate fewer: it writes the fixed keys itself, in batches).

Every system runs on report 1, then every system on report 2, and so on, so that load from other processes on
a shared machine hits them all alike. Reports come from ``reportx.synth`` (val split by default, never the
test split unless asked).

    python bench/extract_speed.py --n 20
    python bench/extract_speed.py --n 20 --adapter runs/a/adapter.gguf --threads 2
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Row:
    name: str
    seconds: list[float] = field(default_factory=list)
    prompt: list[int] = field(default_factory=list)
    evaluated: list[int] = field(default_factory=list)
    chosen: list[int] = field(default_factory=list)
    forced: list[int] = field(default_factory=list)
    attempts: list[int] = field(default_factory=list)
    valid: int = 0

    def add(self, seconds, prompt, evaluated, chosen, forced, attempts, valid):
        self.seconds.append(seconds)
        self.prompt.append(prompt)
        self.evaluated.append(evaluated)
        self.chosen.append(chosen)
        self.forced.append(forced)
        self.attempts.append(attempts)
        self.valid += bool(valid)


def _valid(schema, text: str) -> bool:
    from reportx.extract.parse import loads_lenient

    try:
        schema.validate(loads_lenient(text))
        return True
    except Exception:
        return False


def _llguidance(engine, schema):
    """Greedy decoding with llguidance's JSON-Schema token masks and fast-forward tokens, on the same engine."""
    import numpy as np
    from llguidance import LLMatcher
    from llguidance.llamacpp import lltokenizer_from_vocab
    from llguidance.numpy import allocate_token_bitmask, fill_next_token_bitmask

    tok = lltokenizer_from_vocab(engine.model.vocab)
    grammar = LLMatcher.grammar_from_json_schema(json.dumps(schema.json_schema),
                                                 defaults={"whitespace_flexible": False})
    mask = allocate_token_bitmask(1, tok.vocab_size)

    def run(prompt, checkpoints=()):
        t0 = time.perf_counter()
        matcher = LLMatcher(tok, grammar)
        engine.prime(prompt, checkpoints)
        out, chosen, forced = [], 0, 0
        while not matcher.is_stopped() and chosen < 256:
            ff = matcher.compute_ff_tokens()
            if ff:
                matcher.consume_tokens(ff)
                out += ff
                forced += len(ff)
                engine.feed(ff)
                if matcher.is_stopped():
                    break
            fill_next_token_bitmask(matcher, mask)
            allowed = np.unpackbits(mask.view(np.uint8), bitorder="little")[: engine.n_vocab].astype(bool)
            token = int(np.argmax(np.where(allowed, engine.logits(), -np.inf)))
            if engine.is_end(token):
                break
            matcher.consume_token(token)
            out.append(token)
            chosen += 1
            if matcher.is_stopped():
                break
            engine.feed([token])
        return time.perf_counter() - t0, chosen, forced, engine.detokenize(out).decode("utf-8", "replace")

    return run


def _pct(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _mean(values):
    return statistics.mean(values) if values else float("nan")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=20, help="number of synthetic reports (default 20)")
    ap.add_argument("--split", default="val", choices=["val", "test", "train"], help="synth split (default val)")
    ap.add_argument("--seed", type=int, default=1, help="synth seed (default 1)")
    ap.add_argument("--model", help="base GGUF (default: the embedded Gemma 3 270M)")
    ap.add_argument("--adapter", help="GGUF LoRA adapter for the fine-tuned rows (default: the bundled one, if any)")
    ap.add_argument("--shots", type=int, default=3, help="few-shot examples (default 3)")
    ap.add_argument("--threads", type=int, default=None, help="llama.cpp threads (default: CPUs available)")
    ap.add_argument("--n-ctx", type=int, default=4096)
    ap.add_argument("--no-gbnf", action="store_true", help="skip llama-cpp-python's GBNF grammar row (slow)")
    ap.add_argument("--no-raw", action="store_true", help="skip the raw decode row")
    ap.add_argument("--llguidance", action="store_true",
                    help="add a row for llguidance token masks (needs `pip install llguidance`; not a dependency)")
    ap.add_argument("--json", help="also write the figures as JSON to this file")
    args = ap.parse_args(argv)

    from reportx.extract import Extractor
    from reportx.extract.engine import Engine, default_threads
    from reportx.extract.parse import loads_lenient
    from reportx.models import bundled_adapter, default_base_model
    from reportx.schema import builtin_schema
    from reportx.synth import synthesize

    schema = builtin_schema()
    pool = [e for e in synthesize(n=max(200, args.n * 12), seed=args.seed) if e.split == args.split]
    reports = [e.text for e in pool[: args.n]]
    if len(reports) < args.n:
        print(f"only {len(reports)} {args.split} reports in the synthesized pool", file=sys.stderr)
    threads = args.threads or default_threads()
    model = Path(args.model) if args.model else default_base_model()
    adapter = Path(args.adapter) if args.adapter else bundled_adapter()

    base = Engine(model, n_ctx=args.n_ctx, n_threads=threads)
    systems: list[tuple[str, object]] = [
        ("few-shot, free", Extractor(engine=base, mode="fewshot", shots=args.shots)),
        ("few-shot, constrained", Extractor(engine=base, mode="fewshot", shots=args.shots, constrained=True)),
    ]
    if adapter is not None:
        tuned = Engine(model, adapter, n_ctx=args.n_ctx, n_threads=threads)
        systems += [
            ("fine-tuned, free", Extractor(engine=tuned, mode="finetuned")),
            ("fine-tuned, constrained", Extractor(engine=tuned, mode="finetuned", constrained=True)),
        ]
    gbnf = None
    if not args.no_gbnf:
        from llama_cpp import LlamaGrammar

        gbnf = LlamaGrammar.from_json_schema(json.dumps(schema.json_schema), verbose=False)
    rows = {name: Row(name) for name, _ in systems}
    gbnf_row = Row("few-shot, llama-cpp-python GBNF grammar")
    # One raw row per free system: the same model (and adapter) decoding that system's own tokens.
    raw_rows = {name: Row(f"raw llama-cpp-python decode, same tokens as {name}") for name, _ in systems
                if name.endswith(", free")}
    first_eval: dict[str, int] = {}

    llg = _llguidance(base, schema) if args.llguidance else None
    llg_row = Row("few-shot, llguidance token masks (no forcing of keys, no loop guards)")

    # Cold start, untimed in the table: a new process's first report evaluates the whole prompt, prefix included.
    cold = {}
    for name, ex in systems:
        ex.engine.llm.reset()
        r = ex.extract(reports[0])
        cold[name] = (r.evaluated_tokens, r.prompt_tokens, r.seconds)

    load_before = os.getloadavg() if hasattr(os, "getloadavg") else None
    wall = time.perf_counter()
    for i, text in enumerate(reports):
        free_runs = {}
        for name, ex in systems:
            # Every system starts from a cache that holds exactly its prompt's fixed prefix, as in a batch
            # where only the prefix is shared between reports: each one pays for its own report tokens.
            ex.prompt_tokens(text)
            ex.engine.prime(ex._prefix_tokens)
            r = ex.extract(text)
            if i == 0:
                first_eval[name] = r.evaluated_tokens
            rows[name].add(r.seconds, r.prompt_tokens, r.evaluated_tokens, r.completion_tokens, r.forced_tokens,
                           r.attempts, r.ok)
            if name in raw_rows and r.generations:
                free_runs[name] = (ex, ex.prompt_tokens(text), r.generations[0].tokens)
            if name == "few-shot, free":
                free_prompt = ex.prompt_tokens(text)
                prefix = ex._prefix_tokens
        fewshot = systems[0][1]
        if gbnf is not None:
            prompt = "".join(fewshot.prompt_parts(text))
            base.prime(prefix)
            t0 = time.perf_counter()
            out = base.llm.create_completion(prompt, max_tokens=256, temperature=0.0, grammar=gbnf)
            dt = time.perf_counter() - t0
            usage = out["usage"]
            gbnf_row.add(dt, usage["prompt_tokens"], 0, usage["completion_tokens"], 0, 1,
                         _valid(schema, out["choices"][0]["text"]))
        if llg is not None:
            base.prime(prefix)
            dt, chosen, forced, text_out = llg(free_prompt, [len(prefix)])
            llg_row.add(dt, len(free_prompt), 0, chosen, forced, 1, _valid(schema, text_out))
        if not args.no_raw:
            for name, (ex, prompt, tokens) in free_runs.items():
                engine = ex.engine
                engine.prime(ex._prefix_tokens)
                t0 = time.perf_counter()
                evaluated = engine.prime(prompt, [len(ex._prefix_tokens)])  # the report's own tokens, one batch
                for t in tokens:
                    engine.llm.eval([t])
                dt = time.perf_counter() - t0
                raw_rows[name].add(dt, len(prompt), evaluated, len(tokens), 0, 1, True)
    wall = time.perf_counter() - wall
    load_after = os.getloadavg() if hasattr(os, "getloadavg") else None

    table = [rows[name] for name, _ in systems]
    if gbnf is not None:
        table.append(gbnf_row)
    if llg is not None:
        table.append(llg_row)
    print(f"## reportx extraction speed\n")
    print(f"- machine: {platform.machine()} {platform.processor() or ''}, {os.cpu_count()} CPUs, llama.cpp threads {threads}; "
          f"load average before {_fmt_load(load_before)}, after {_fmt_load(load_after)}")
    print(f"- model: {model.name}" + (f", adapter: {adapter.name}" if adapter else ", no adapter (fine-tuned rows skipped)"))
    print(f"- {len(reports)} synthetic {args.split} reports (seed {args.seed}), few-shot with {args.shots} examples; "
          f"every system on each report in turn; total wall {wall:.0f} s\n")
    print("| system | reports/s | s/report mean | p50 | p95 | prompt tok/report | prompt tok evaluated (prefix cached) "
          "| chosen tok/report | forced tok/report | ms per chosen tok | schema-valid | attempts/report |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for row in table:
        n = len(row.seconds)
        if not n:
            continue
        later = row.evaluated
        ms_tok = 1000 * sum(row.seconds) / max(1, sum(row.chosen))
        evaluated = "n/a" if row in (gbnf_row, llg_row) else f"{_mean(later):.0f}"
        print(f"| {row.name} | {n / sum(row.seconds):.2f} | {_mean(row.seconds):.2f} | {_pct(row.seconds, .5):.2f} | "
              f"{_pct(row.seconds, .95):.2f} | {_mean(row.prompt):.0f} | {evaluated} | {_mean(row.chosen):.1f} | "
              f"{_mean(row.forced):.1f} | {ms_tok:.1f} | {row.valid}/{n} | {_mean(row.attempts):.2f} |")
    for name, raw_row in raw_rows.items():
        bound = raw_row.seconds
        if not bound:
            continue
        print(f"| {raw_row.name} | {len(bound) / sum(bound):.2f} | {_mean(bound):.2f} | {_pct(bound, .5):.2f} | "
              f"{_pct(bound, .95):.2f} | {_mean(raw_row.prompt):.0f} | {_mean(raw_row.evaluated):.0f} | "
              f"{_mean(raw_row.chosen):.1f} | 0 | "
              f"{(f'{1000 * sum(bound) / sum(raw_row.chosen):.1f}' if sum(raw_row.chosen) else '-')} | - | - |")
    for name, raw_row in raw_rows.items():
        if raw_row.seconds and sum(raw_row.chosen):
            free = rows[name]
            print(f"\nRaw llama-cpp-python for {name}: the report's prompt tokens in one batch, then the free "
                  f"answer's first-attempt tokens one `Llama.eval` at a time, no sampling "
                  f"({sum(raw_row.chosen) / sum(raw_row.seconds):.1f} tokens/s, prompt included): the bound for "
                  f"decoding those tokens. {name}: {1000 * sum(free.seconds) / max(1, sum(free.chosen)):.1f} ms "
                  f"per chosen token, everything included (constrained retries too).", end="")
    print()
    for name, _ in systems:
        row = rows[name]
        ev, pt, sec = cold[name]
        print(f"\nPrefix cache, {name}: a cold first report evaluated {ev} of its {pt} prompt tokens ({sec:.2f} s); "
              f"with the prefix cached, reports evaluated {_mean(row.evaluated):.0f} of {_mean(row.prompt):.0f} "
              f"({_mean(row.seconds):.2f} s).", end="")
    print()
    if args.json:
        Path(args.json).write_text(json.dumps({r.name: r.__dict__ for r in table + list(raw_rows.values())}, indent=1))
    return 0


def _fmt_load(load):
    return "n/a" if load is None else "/".join(f"{x:.1f}" for x in load)


if __name__ == "__main__":
    sys.exit(main())
