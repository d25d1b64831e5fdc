"""The ``reportx`` command line: one subcommand per pipeline stage, each a thin wrapper over the stage's Python API.

Exit codes: 0 success, 1 some reports failed (extract), 2 usage, input or model errors (one line on stderr).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from reportx import __version__

if TYPE_CHECKING:
    from reportx.export.merge import MergeResult
    from reportx.export.run import ExportResult
from reportx.errors import ReportxError
from reportx.extract.config import DEFAULT_BATCH

app = typer.Typer(
    name="reportx",
    help=(
        "Turn free-text daily project reports into exact JSON records with a small fine-tuned model.\n\n"
        "Pipeline: schema -> synth -> train -> export -> extract -> eval. Each subcommand is one stage."
    ),
    no_args_is_help=True,
    add_completion=False,
    # Plain click help: flags print as flags and choices as <a|b>, and a log file gets no box drawing.
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

SchemaOption = Annotated[
    str | None,
    typer.Option(
        "--schema",
        metavar="SPEC", help="Report schema: a JSON Schema file, a Pydantic model as module:Class or file.py:Class. "
        "Default: the built-in ProjectReport.",
        show_default=False,
    ),
]


QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="Nothing on stderr but errors: no progress, "
                                         "notices or summary.")]
ThreadsOption = Annotated[
    int | None,
    typer.Option("--threads", envvar="REPORTX_THREADS", metavar="N", help="CPU threads for llama.cpp (1-256). Default: the "
                 "CPUs available, at most 8.", show_default=False),
]
Mode = Literal["fewshot", "finetuned"]
OutputFormat = Literal["jsonl", "csv", "sqlite", "parquet"]


def _fail(message: str, code: int = 2) -> None:
    typer.echo(f"reportx: error: {message}", err=True)
    raise typer.Exit(code)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"reportx {__version__}")
        raise typer.Exit(0)


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    pass


@app.command("schema")
def schema_cmd(
    schema: SchemaOption = None,
    validate: Annotated[
        Path | None,
        typer.Option(
            "--validate",
            metavar="FILE", help="Instead of printing the schema, validate each line of this JSONL file (records, or objects "
            "with an 'output' field) and print the normalised records.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Print the report schema as JSON Schema (keys in record order), or validate records against it."""
    from reportx.schema import RecordInvalid, load_schema

    report_schema = load_schema(schema)
    if validate is None:
        typer.echo(json.dumps(report_schema.json_schema, ensure_ascii=False, indent=2))
        return
    if not validate.is_file():
        raise ReportxError(f"file not found: {validate}")
    bad = 0
    with validate.open(encoding="utf-8-sig") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                record = item.get("output", item) if isinstance(item, dict) else item
                typer.echo(report_schema.dumps(report_schema.validate(record)))
            except (json.JSONDecodeError, RecordInvalid) as exc:
                bad += 1
                typer.echo(f"{validate}:{number}: invalid: {exc}", err=True)
    if bad:
        raise typer.Exit(1)


@app.command("synth")
def synth_cmd(
    out: Annotated[Path, typer.Option("--output", "-o", "--out", metavar="DIR", help="Directory to write the splits, stats.json "
                                      "and a dataset card into.", show_default=False)],
    n: Annotated[int, typer.Option("--n", "-n", metavar="N", help="Number of report/JSON pairs to generate (all splits together).")] = 2000,
    seed: Annotated[int, typer.Option("--seed", metavar="N", help="Random seed: the same seed writes byte-identical files.")] = 0,
    inject_share: Annotated[
        float,
        typer.Option("--inject-share", metavar="SHARE", help="Share of training reports (0-1) that get a snippet trying to steer the "
                     "record (injected instructions, fake prompt markup, pasted JSON), gold unchanged. Val, test "
                     "and the other training reports stay as without it."),
    ] = 0.0,
    rich: Annotated[bool, typer.Option("--rich/--plain", help="Training reports also get more blockers (more of them "
                                       "without a ticket), event-like blocker wordings, durations such as 'all day' "
                                       "and other list markers. Val and test stay the same either way.")] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Write into a folder that already holds files "
                                            "(the splits are replaced).")] = False,
    quiet: QuietOption = False,
) -> None:
    """Generate synthetic report -> JSON training pairs (Spanish and English, many styles), split by template
    family into train / val / test, as instruction/input/output JSONL and chat-messages JSONL.

    The folder loads with Hugging Face datasets as train / validation / test: load_dataset("json",
    data_dir=OUT) (the chat form: data_dir=OUT/messages).

    Example: reportx synth -n 2000 --seed 0 -o data
    """
    if n <= 0:
        raise ReportxError(f"--n must be a positive number of reports, got {n}")
    if out.exists() and not out.is_dir():
        raise ReportxError(f"--output {out} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise ReportxError(f"--output {out} is not empty: pass --overwrite to replace its splits, or another folder")
    if not 0.0 <= inject_share <= 1.0:
        raise ReportxError(f"--inject-share must be between 0 and 1, got {inject_share}")
    from reportx.synth import synthesize, write_dataset

    stats = write_dataset(synthesize(n=n, seed=seed, inject_share=inject_share, rich=rich), out)
    if quiet:
        return
    splits = ", ".join(f"{name} {count}" for name, count in stats["splits"].items())
    typer.echo(f"reportx: wrote {n} examples to {out} ({splits}); stats in {out / 'stats.json'}", err=True)
    empty = [name for name, count in stats["splits"].items() if not count]
    if empty:
        typer.echo(f"reportx: warning: {' and '.join(empty)} {'is' if len(empty) == 1 else 'are'} empty: {n} reports "
                   "are too few to fill every split (a split holds whole template families); use -n 100 or more",
                   err=True)


@app.command("train")
def train_cmd(
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", metavar="FILE", help="YAML run config (see configs/default.yaml). Without it, the defaults.",
                     show_default=False),
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", metavar="KEY=VALUE", help="Override a config key: --set learning_rate=2e-4 --set output_dir=runs/b "
                     "(values are YAML). Repeatable.", show_default=False),
    ] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue from the last checkpoint in output_dir.")] = False,
    print_config: Annotated[
        bool, typer.Option("--print-config", help="Print the resolved config as YAML and exit without training.")
    ] = False,
    quiet: QuietOption = False,
) -> None:
    """LoRA fine-tuning of a base model on labelled report -> JSON pairs, loss on the JSON answer only.

    Uses Unsloth (4-bit QLoRA) on a CUDA machine where it is installed, else transformers + PEFT + TRL
    (float32 on a CPU). Writes checkpoints, the adapter and a run card (JSON and markdown) into output_dir.
    Then `reportx export RUN_DIR` turns the adapter into GGUF for extraction.

    Example: reportx train --config configs/default.yaml --set max_steps=20 --set output_dir=runs/try
    """
    from reportx.errors import require_extra

    if not print_config:
        require_extra("train", "reportx train")
    from reportx.train import load_config, train

    cfg = load_config(config, set_ or [])
    if print_config:
        import yaml

        typer.echo(yaml.safe_dump(cfg.to_dict(), sort_keys=False, allow_unicode=True), nl=False)
        return
    train(cfg, resume=resume, show_progress=False if quiet else None)


@app.command("export")
def export_cmd(
    run_dir: Annotated[Path, typer.Argument(metavar="RUN_DIR", help="A training run directory (run_card.json and adapter/).", show_default=False)],
    out: Annotated[
        Path | None,
        typer.Option("--output", "-o", "--out", metavar="FILE", help="Where to write the GGUF. Default: RUN_DIR/adapter.gguf, with --merge "
                     "RUN_DIR/merged-QUANT.gguf.", show_default=False),
    ] = None,
    check: Annotated[
        int,
        typer.Option("--check", metavar="N", help="Compare greedy answers of the GGUF (llama.cpp) and of the trained PyTorch model "
                     "on this many validation reports; exit 1 unless all are identical. Needs the \\[train] extra."),
    ] = 0,
    base: Annotated[
        Path | None,
        typer.Option("--base", metavar="GGUF", help="Base GGUF for llama.cpp in the check, and the base to merge into with --merge "
                     "(default: the run's base, when it is a GGUF).", show_default=False),
    ] = None,
    max_tokens: Annotated[int, typer.Option("--max-tokens", metavar="N", help="Answer length limit in the check.")] = 256,
    dtype: Annotated[
        Literal["f16", "f32"] | None,
        typer.Option("--dtype", help="Adapter tensor type: f16 (half the size, the default) or f32.", show_default=False),
    ] = None,
    merge: Annotated[
        bool,
        typer.Option("--merge", help="Write one merged GGUF model (base + adapter folded into its weights) instead of "
                     "an adapter. RUN_DIR may also be a directory with a run card and an adapter.gguf."),
    ] = False,
    quant: Annotated[
        Literal["f16", "q8_0", "q4_k_m"] | None,
        typer.Option("--quant", help="With --merge: f16 or q8_0 (the merged tensors' type; the others keep the "
                     "base's), or q4_k_m (the whole file re-quantised by llama.cpp). Default: f16.", show_default=False),
    ] = None,
    ollama: Annotated[
        bool, typer.Option("--ollama", help="With --merge: also write an Ollama Modelfile beside the GGUF.")
    ] = False,
    check_against: Annotated[
        Literal["auto", "pytorch", "adapter"] | None,
        typer.Option("--check-against", help="With --merge --check: pytorch (the trained model), adapter (base + "
                     "adapter in llama.cpp) or auto (pytorch when the run has its PEFT adapter). Default: auto.",
                     show_default=False),
    ] = None,
    calibrate: Annotated[
        int,
        typer.Option("--calibrate", metavar="N", help="Fit the per-field confidence calibration on this many "
                     "validation reports (constrained extraction with the GGUF) and write it beside the adapter as "
                     "NAME.calibration.json, where reportx extract finds it."),
    ] = 0,
    threads: ThreadsOption = None,
    quiet: QuietOption = False,
) -> None:
    """Export a trained LoRA adapter to GGUF for llama.cpp: an adapter loaded beside the base GGUF, or with --merge
    one merged model (optionally quantised, with an Ollama Modelfile).

    No llama.cpp checkout or build is needed. With --check N, the GGUF's answers are compared with the
    trained model's on N validation reports; the details go to RUN_DIR/export_check.json (with --merge:
    beside the merged GGUF, as NAME.check.json).

    Examples: reportx export runs/try --check 5;
    reportx export runs/try --merge --quant q4_k_m --ollama --check 5
    """
    if check < 0:
        raise ReportxError(f"--check must be a number of reports (0 for none), got {check}")
    if calibrate < 0 or (calibrate and merge):
        raise ReportxError("--calibrate N: a number of validation reports, for an adapter (not with --merge)")
    if max_tokens <= 0:
        raise ReportxError(f"--max-tokens must be positive, got {max_tokens}")
    if not merge:
        for flag, value in (("--quant", quant), ("--ollama", ollama or None), ("--check-against", check_against)):
            if value is not None:
                raise ReportxError(f"{flag} applies to a merged model: add --merge")
    elif dtype is not None:
        raise ReportxError("--dtype is the type of an adapter's tensors; with --merge use --quant")
    result: ExportResult | MergeResult
    if merge:
        from reportx.export import merge_run

        result = merge_run(
            run_dir, out, quant or "f16", ollama, check, base_gguf=base, check_against=check_against or "auto",
            max_tokens=max_tokens, n_threads=threads,
        )
    else:
        from reportx.export import export_run

        result = export_run(run_dir, out, check, base_gguf=base, max_tokens=max_tokens, dtype=dtype or "f16",
                            n_threads=threads, calibrate=calibrate)
    if not quiet:
        typer.echo(result.summary(), err=True)
    if result.check is not None:
        for example in result.check.examples:
            if not example.match:
                margin = "" if example.torch_margin is None else f" (reference logit margin there {example.torch_margin:.3f})"
                typer.echo(
                    f"  {example.id}: answers differ from token {example.first_difference}{margin}: "
                    f"reference {example.torch_text!r} vs GGUF {example.gguf_text!r}",
                    err=True,
                )
        if result.check.matches < result.check.n:
            typer.echo(f"details in {result.check_file}", err=True)
            raise typer.Exit(1)


@app.command("extract")
def extract_cmd(
    inputs: Annotated[
        list[str],
        typer.Argument(
            metavar="INPUT",
            help="Report files, directories (searched recursively, see --glob), - for one report on stdin, or "
            "JSONL files (.jsonl/.ndjson) with the text in --jsonl-field. Any encoding an editor writes "
            "(UTF-8 with or without BOM, UTF-16, Windows-1252/latin-1) is detected.",
            show_default=False,
        ),
    ],
    glob: Annotated[
        list[str] | None,
        typer.Option("--glob", metavar="PATTERN", help="File pattern for directories, repeatable. Default: *.txt and *.md.",
                     show_default=False),
    ] = None,
    jsonl_field: Annotated[
        str | None,
        typer.Option("--jsonl-field", metavar="FIELD", help="Field holding the report text in JSONL inputs. Default: found "
                     "as train, score and eval find it ('input', 'text', or the user message of chat 'messages'). "
                     "Given with -, stdin is read as JSONL.", show_default=False),
    ] = None,
    output: Annotated[
        str | None,
        typer.Option("--output", "-o", metavar="FILE", help="Output file: .jsonl (one record per line, the default on stdout), "
                     ".csv (one row per report, blockers flattened) or .db (SQLite: reports + blockers tables). "
                     "Re-running appends only reports not already in it. CSV text cells starting with = + - @ "
                     "tab or CR get a leading ' (OWASP CSV injection); numbers stay numbers.", show_default=False),
    ] = None,
    fmt: Annotated[
        OutputFormat | None,
        typer.Option("--format", help="Output format; default: from the output's suffix (.csv, .db/.sqlite, "
                     "else jsonl). parquet (with --ray): -o is a folder, one file per block.", show_default=False),
    ] = None,
    errors: Annotated[
        str | None,
        typer.Option("--errors", metavar="FILE", help="JSONL file for reports that could not be extracted, with the reason and the "
                     "raw model output. Default: OUTPUT.errors.jsonl beside the output (reportx-errors.jsonl for "
                     "stdout); created only when a report fails.", show_default=False),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option("--model", envvar="REPORTX_MODEL", metavar="GGUF", help="Base model GGUF. Default: the embedded Gemma 3 270M (Q4_K_M), assembled "
                     "on first use into ~/.cache/reportx (or $REPORTX_CACHE_DIR); in finetuned mode with no "
                     "--adapter, that base with the bundled adapter merged into its weights (Q8_0, made there on "
                     "first use: faster than applying the adapter at run time).", show_default=False),
    ] = None,
    adapter: Annotated[
        str | None,
        typer.Option("--adapter", envvar="REPORTX_ADAPTER", metavar="GGUF", help="GGUF LoRA adapter (from reportx export) for finetuned mode, applied at run "
                     "time. Default: the adapter bundled with reportx, if any (merged into the default base, see "
                     "--model).", show_default=False),
    ] = None,
    mode: Annotated[
        Mode | None,
        typer.Option("--mode", help="fewshot (base model + worked examples) or finetuned (adapter + short "
                     "prompt). Default: finetuned when an adapter is given or bundled, else fewshot.",
                     show_default=False),
    ] = None,
    merged: Annotated[
        bool,
        typer.Option("--merged", help="--model is a merged GGUF (reportx export --merge): finetuned mode, no "
                     "adapter applied."),
    ] = False,
    constrained: Annotated[
        bool,
        typer.Option("--constrained/--free", help="Constrain decoding by the schema from the first attempt. "
                     "--free (default) decodes freely and retries an invalid answer once, constrained."),
    ] = False,
    shots: Annotated[int, typer.Option("--shots", metavar="N", help="Worked examples in the few-shot prompt (0-4).")] = 3,
    schema: SchemaOption = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Start the output and errors files afresh instead of resuming.")
    ] = False,
    quiet: QuietOption = False,
    n_ctx: Annotated[int, typer.Option("--n-ctx", metavar="TOKENS", help="Model context in tokens; longer reports are errors.")] = 4096,
    threads: ThreadsOption = None,
    batch: Annotated[
        int,
        typer.Option("--batch", metavar="N", help="Reports decoded at once, in one llama.cpp batch per step (1-256), "
                     "on every CPU unless --threads: 1.9x faster than one at a time on 2 cores. 1 decodes one "
                     "report at a time. The records are the same either way: llama.cpp runs batch-invariant. See "
                     "docs/extraction-speed.md."),
    ] = DEFAULT_BATCH,
    workers: Annotated[
        int | None,
        typer.Option("--workers", metavar="N", help="Worker processes extracting at once (1-64; 1: this process "
                     "alone). Each worker loads its own copy of the model (about 1 GB each with the default one) "
                     "and takes every N-th report; records are still written in input order, each once, with the "
                     "same resume and errors file, and they are those of --workers 1. --threads is per worker "
                     "(default: the CPUs divided by N). Default: one process while the reports fit in one --batch, "
                     "else one single-threaded worker per CPU (at most 8, within half the free memory): on 2 cores "
                     "2 workers x 1 thread ran 1.49 reports/s with the default model (with the whole output head, "
                     "1.03 against 0.87 for 1 process x 2 threads) "
                     "(docs/extraction-speed.md). A worker that dies stops the run (exit 2; re-run to resume). "
                     "Not with --ray (use --actors).", show_default=False),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option("--limit", "-n", metavar="N", help="Extract only the first N reports found.", show_default=False),
    ] = None,
    review_below: Annotated[
        float | None,
        typer.Option("--review-below", metavar="P", min=0.0, max=1.0, help="List in _meta.review the fields whose "
                     "confidence (_meta.confidence: the probability the value is right, calibrated for the bundled "
                     "adapter) is under P, e.g. 0.9: a queue for a person to check. The exit code does not change.",
                     show_default=False),
    ] = None,
    full_head: Annotated[
        bool,
        typer.Option("--full-head", help="Compute every vocabulary token's logits in llama.cpp. By default a "
                     "fine-tuned model that answers quotes, with no --adapter (the default model included), runs its "
                     "body in llama.cpp and its output head in numpy over the tokens a quote answer can be made of "
                     "(the report's, JSON's): faster, same records up to near-ties; confidences are normalised over "
                     "those tokens (docs/extraction-speed.md)."),
    ] = False,
    ray: Annotated[
        bool, typer.Option("--ray", help="Extract on Ray actors (pip install 'reportx[ray]'); same outputs and "
                           "resume. See docs/scale-out.md.")
    ] = False,
    ray_address: Annotated[
        str | None,
        typer.Option("--ray-address", metavar="ADDR", help="With --ray: a running Ray cluster (ray start --head). "
                     "Default: a local Ray instance on this machine.", show_default=False),
    ] = None,
    actors: Annotated[
        int | None,
        typer.Option("--actors", metavar="N", help="With --ray: extraction actors, each loading the model once "
                     "with --threads threads (default 1). Default: the cluster's CPUs.", show_default=False),
    ] = None,
) -> None:
    """Extract one JSON record per report with a GGUF model, validated against the schema.

    Every record carries provenance in "_meta" (source, sha256 of the text, model and adapter ids, mode, constrained, attempts, tokens, seconds). A report that cannot be extracted (empty, binary, longer than the context, still invalid after a constrained retry) goes to the errors file with its reason; nothing is dropped.

    Exit code 0 when every report succeeded, 1 when some failed, 2 for usage or model errors.

    Examples:

      reportx extract samples/reports   (JSONL on stdout)

      reportx extract reports/today -o day.db   (SQLite; re-run to resume)

      cat report.txt | reportx extract - --constrained
    """
    from reportx.extract.batch import BatchOptions, run_batch
    from reportx.extract.config import ExtractConfig

    config = ExtractConfig.make(  # every extraction option checked here, before any input is read
        model=model, adapter=adapter, mode=mode, merged=merged, constrained=constrained, shots=shots,
        schema_spec=schema, n_ctx=n_ctx, threads=threads, review_below=review_below, batch=batch, workers=workers,
        full_head=full_head,
    )
    opts = BatchOptions(
        inputs=list(inputs), config=config, globs=list(glob or []), jsonl_field=jsonl_field, output=output,
        fmt=fmt, errors=errors, overwrite=overwrite, quiet=quiet, limit=limit,
    )
    if ray or ray_address is not None or actors is not None or fmt == "parquet":
        if workers is not None and workers > 1:
            raise ReportxError("--workers does not combine with --ray: Ray runs one model per actor (use --actors)")
        from reportx.scale.run import run_ray_batch

        summary = run_ray_batch(opts, ray=ray, address=ray_address, actors=actors)
    else:
        summary = run_batch(opts)
    if summary.exit_code:
        raise typer.Exit(summary.exit_code)


@app.command("eval")
def eval_cmd(
    data: Annotated[Path, typer.Argument(metavar="DATA", help="Labelled JSONL: report text (input / text / chat messages) and gold "
                                         "record (output), e.g. data/test.jsonl from reportx synth.", show_default=False)],
    system: Annotated[
        list[str] | None,
        typer.Option("--system", "-s", metavar="NAME=KEY=VALUE,...", help="A system as NAME=key=value,...; keys: model, adapter, mode "
                     "(fewshot|finetuned), constrained (true|false), shots, merged (true: model is a merged GGUF), batch, full_head (true: "
                     "the whole output head in llama.cpp, see reportx extract --full-head). Repeatable. Default: few-shot vs "
                     "fine-tuned on the default model, each free and constrained.", show_default=False),
    ] = None,
    out: Annotated[Path, typer.Option("--output", "-o", "--out", metavar="DIR", help="Directory for results.json, table.md, "
                                      "errors.jsonl, chart.png.")] = Path("eval-out"),
    limit: Annotated[int | None, typer.Option("--limit", "-n", help="Evaluate only the first N reports.", show_default=False)] = None,
    schema: SchemaOption = None,
    quiet: QuietOption = False,
    threads: ThreadsOption = None,
) -> None:
    """Run systems over the same labelled reports and compare them: field accuracy with a 95% interval,
    schema-valid rate, hallucinations, omissions, blocker F1, tokens and latency. Prints a markdown table.

    Example: reportx eval data/test.jsonl -n 200 -o eval-out
    """
    from reportx.eval.report import markdown_table
    from reportx.eval.runner import evaluate, parse_system

    if limit is not None and limit <= 0:
        raise ReportxError(f"--limit must be positive, got {limit}")
    specs = [parse_system(s) for s in system] if system else None
    from reportx.errors import missing_modules

    chart = not missing_modules("eval")
    results = evaluate(data, specs, out_dir=out, schema_spec=schema, limit=limit, quiet=quiet, chart=chart,
                       threads=threads)
    typer.echo(markdown_table(results))
    if quiet:
        return
    files = "results.json, table.md, errors.jsonl" + (", chart.png" if chart else "")
    typer.echo(f"reportx eval: results in {out}/ ({files})", err=True)
    if not chart:
        typer.echo("reportx eval: no chart: matplotlib is not installed (pip install 'reportx[eval]')", err=True)


@app.command("score")
def score_cmd(
    gold: Annotated[Path, typer.Argument(metavar="GOLD", help="Labelled JSONL: report text with its gold record.")],
    predictions: Annotated[list[Path], typer.Argument(metavar="PREDICTIONS", help="Prediction JSONL file(s): reportx extract output and "
                           "its --errors file, or any tool's records (matched by text sha256, id or line order).")],
    schema: SchemaOption = None,
    json_out: Annotated[Path | None, typer.Option("--json", metavar="FILE", help="Also write the metrics as JSON here.", show_default=False)] = None,
    quiet: QuietOption = False,
) -> None:
    """Score predictions made by anything against labelled data: field accuracy with a 95% interval, per-field
    accuracy, schema-valid rate, hallucinations, omissions, blocker F1, cost. A missing prediction file is skipped
    (with a note) when another one exists; predictions matching no gold report are an error (exit 2).

    Example: reportx extract data/test.jsonl -o pred.jsonl; reportx score data/test.jsonl pred.jsonl pred.errors.jsonl
    """
    from reportx.eval.report import markdown_table, write_results
    from reportx.eval.score import score_files

    notes: list[str] = []
    summary, _ = score_files(gold, predictions, schema, notes=notes)
    missing = summary["missing_predictions"]
    for note in [] if quiet else notes:
        typer.echo(f"reportx: {note}", err=True)
    typer.echo(f"reportx: {summary['reports']} gold reports, {summary['reports'] - missing} with a prediction, "
               f"{missing} without (scored as invalid)", err=True)
    typer.echo(markdown_table({"predictions": summary}))
    if json_out is not None:
        write_results(json_out, {"predictions": summary}, {"gold": str(gold)})


def _click_exceptions() -> ModuleType:
    """click's exception classes: typer >= 0.29 carries its own copy of click, older ones use click."""
    import importlib

    try:
        return importlib.import_module("typer._click.exceptions")
    except ImportError:  # pragma: no cover - typer on click
        return importlib.import_module("click.exceptions")


def main() -> None:
    """Entry point: run the CLI; user errors become one line on stderr and exit code 2, never a traceback.

    Usage errors (an unknown option, a value outside an option's choices) are one line too, with exit code 2.
    """
    click_errors = _click_exceptions()
    try:
        code = app(standalone_mode=False)
    except click_errors.UsageError as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":  # `reportx` alone: the help, exit 2 as click does
            exc.show()
            sys.exit(exc.exit_code)
        hint = f" (see {exc.ctx.command_path} --help)" if exc.ctx is not None else ""
        typer.echo(f"reportx: error: {exc.format_message().replace('Value error, ', '')}{hint}", err=True)
        sys.exit(2)
    except click_errors.ClickException as exc:  # a file option that cannot be opened, and the like
        typer.echo(f"reportx: error: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
    except typer.Abort:
        typer.echo("reportx: interrupted", err=True)
        sys.exit(130)
    except ReportxError as exc:
        typer.echo(f"reportx: error: {exc}", err=True)
        sys.exit(2)
    except OSError as exc:  # unreadable input, unwritable output, full disk: the user's to fix
        typer.echo(f"reportx: error: {exc}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        typer.echo("reportx: interrupted", err=True)
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)
