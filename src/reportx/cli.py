"""The ``reportx`` command line: one subcommand per pipeline stage, each a thin wrapper over the stage's Python API.

Exit codes: 0 success, 1 some reports failed (extract), 2 usage, input or model errors (one line on stderr).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from reportx import __version__
from reportx.errors import ReportxError

app = typer.Typer(
    name="reportx",
    help=(
        "Turn free-text daily project reports into exact JSON records with a small fine-tuned model.\n\n"
        "Pipeline: schema -> synth -> train -> export -> extract -> eval. Each subcommand is one stage."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

SchemaOption = Annotated[
    Optional[str],
    typer.Option(
        "--schema",
        help="Report schema: a JSON Schema file, a Pydantic model as module:Class or file.py:Class. "
        "Default: the built-in ProjectReport.",
        show_default=False,
    ),
]


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
        Optional[Path],
        typer.Option(
            "--validate",
            help="Instead of printing the schema, validate each line of this JSONL file (records, or objects "
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
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory to write the splits and stats.json into.")],
    n: Annotated[int, typer.Option("--n", help="Number of report/JSON pairs to generate (all splits together).")] = 2000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed: the same seed writes byte-identical files.")] = 0,
) -> None:
    """Generate synthetic report -> JSON training pairs (Spanish and English, many styles), split by template
    family into train / val / test, as instruction/input/output JSONL and chat-messages JSONL."""
    if n <= 0:
        raise ReportxError(f"--n must be a positive number of reports, got {n}")
    if out.exists() and not out.is_dir():
        raise ReportxError(f"--out {out} exists and is not a directory")
    from reportx.synth import synthesize, write_dataset

    stats = write_dataset(synthesize(n=n, seed=seed), out)
    splits = ", ".join(f"{name} {count}" for name, count in stats["splits"].items())
    typer.echo(f"wrote {n} examples to {out} ({splits}); stats in {out / 'stats.json'}", err=True)


def _not_built(stage: str, issue: str) -> None:
    _fail(f"'reportx {stage}' is not built yet ({issue}).")


@app.command("train")
def train_cmd(
    config: Annotated[
        Optional[Path],
        typer.Option("--config", "-c", help="YAML run config (see configs/default.yaml). Without it, the defaults.",
                     show_default=False),
    ] = None,
    set_: Annotated[
        Optional[list[str]],
        typer.Option("--set", help="Override a config key: --set learning_rate=2e-4 --set output_dir=runs/b "
                     "(values are YAML). Repeatable.", show_default=False),
    ] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue from the last checkpoint in output_dir.")] = False,
    print_config: Annotated[
        bool, typer.Option("--print-config", help="Print the resolved config as YAML and exit without training.")
    ] = False,
) -> None:
    """LoRA fine-tuning of a base model on labelled report -> JSON pairs, loss on the JSON answer only.

    Uses Unsloth (4-bit QLoRA) on a CUDA machine where it is installed, else transformers + PEFT + TRL
    (float32 on a CPU). Writes checkpoints, the adapter and a run card (JSON and markdown) into output_dir.
    Then `reportx export RUN_DIR` turns the adapter into GGUF for extraction.

    Example: reportx train --config configs/default.yaml --set max_steps=20 --set output_dir=runs/try
    """
    from reportx.train import load_config, train

    cfg = load_config(config, set_ or [])
    if print_config:
        import yaml

        typer.echo(yaml.safe_dump(cfg.to_dict(), sort_keys=False, allow_unicode=True), nl=False)
        return
    train(cfg, resume=resume)


@app.command("export", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def export_cmd() -> None:
    """Export a trained adapter to GGUF for llama.cpp (not built yet)."""
    _not_built("export", "it lands with fine-tuning")


@app.command("extract", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def extract_cmd() -> None:
    """Extract JSON records from report files with a GGUF model (not built yet)."""
    _not_built("extract", "extraction is being built")


@app.command("eval", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def eval_cmd() -> None:
    """Compare systems (few-shot vs fine-tuned) on a labelled set (not built yet)."""
    _not_built("eval", "it lands after extraction")


@app.command("score", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def score_cmd() -> None:
    """Score predictions against labelled data (not built yet)."""
    _not_built("score", "it lands with evaluation")


def main() -> None:
    """Entry point: run the CLI; user errors become one line on stderr and exit code 2, never a traceback.

    Typer (standalone mode) already prints usage errors with exit code 2 and help with exit code 0.
    """
    try:
        app()
    except ReportxError as exc:
        typer.echo(f"reportx: error: {exc}", err=True)
        sys.exit(2)
    except OSError as exc:  # unreadable input, unwritable output, full disk: the user's to fix
        typer.echo(f"reportx: error: {exc}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        typer.echo("reportx: interrupted", err=True)
        sys.exit(130)
