"""The batch job behind ``reportx extract``: inputs -> Extractor -> sink, with resume, errors and progress.

Order of work: discover and read every input (a missing path is a usage error before any model work), open
the output and the errors file, drop inputs already in the output, and only then load the model, so that a
finished batch re-runs in a fraction of a second. Opening the output and the errors file locks them for the
whole run (see :mod:`reportx.extract.outputs`); an output or errors file that is one of the inputs is refused.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
import stat
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, TextIO

from reportx.errors import ReportxError
from reportx.extract.config import ExtractConfig
from reportx.extract.inputs import InputItem, discover
from reportx.extract.outputs import ErrorSink, Sink, default_errors_path, infer_format, open_sink


@dataclass
class BatchOptions:
    """One batch: what to read and where to write (its own fields), and how to extract (``config``).

    ``config``: the extraction options, declared and validated once in :class:`ExtractConfig` (build it with
    ``ExtractConfig.make(...)``: a bad value is one ReportxError line). ``limit``: only the first N inputs found.
    """

    inputs: list[str]
    config: ExtractConfig = field(default_factory=ExtractConfig)
    globs: list[str] = field(default_factory=list)
    jsonl_field: str | None = None
    output: str | None = None
    fmt: str | None = None
    errors: str | None = None
    overwrite: bool = False
    quiet: bool = False
    limit: int | None = None


@dataclass
class BatchSummary:
    total: int = 0
    extracted: int = 0
    failed: int = 0
    skipped: int = 0
    errors_path: Path | None = None

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0


def run_batch(opts: BatchOptions, stdin: BinaryIO | None = None, stdout: TextIO | None = None,
              stderr: TextIO | None = None, extractor=None, runner=None, open_output=None) -> BatchSummary:
    """Run one extraction batch. Raises ``ReportxError`` for usage and model errors (exit code 2).

    ``extractor``: an already built :class:`~reportx.extract.Extractor` to use instead of one made from the
    options' model settings (a long-lived process running several batches loads the model once).
    ``runner``: extracts the inputs still to do and writes them to the sinks, in place of this process's own
    loop (``extract_all``'s arguments; :mod:`reportx.scale` runs them on Ray). ``open_output``: opens the
    output in place of :func:`open_sink`, for a format the sinks here do not write (``--format`` not checked).
    """
    from reportx.schema import load_schema

    err = stderr or sys.stderr
    config = opts.config  # every extraction option was checked when it was made, before any input is read
    for label, path in (("--model", config.model), ("--adapter", config.adapter)):
        if path is not None and not Path(path).is_file():
            raise ReportxError(f"{label} file not found: {path}")
    if config.workers is not None and config.workers > 1:
        from reportx.extract.workers import check_workers

        check_workers(config, extractor=extractor, runner=runner)
    schema = extractor.schema if extractor is not None else load_schema(config.schema_spec)
    # A custom opener (reportx.scale's parquet) takes --format as given; the sinks here infer it.
    fmt = infer_format(opts.output, opts.fmt) if open_output is None else opts.fmt or ""
    if opts.limit is not None and opts.limit <= 0:
        raise ReportxError(f"--limit must be positive, got {opts.limit}")
    found = discover(opts.inputs, opts.globs or None, opts.jsonl_field, stdin=stdin)
    items: list[InputItem] = list(found if opts.limit is None else itertools.islice(found, opts.limit))
    errors_path = Path(opts.errors) if opts.errors else default_errors_path(opts.output)
    if opts.output not in (None, "-") and errors_path.resolve() == Path(opts.output).resolve():
        raise ReportxError("--errors must be another file than the output")
    # Before anything opens the output: appending to (or --overwrite deleting) an input is never meant.
    _refuse_inputs_as_outputs(opts.inputs, items, [("output", opts.output), ("errors file", str(errors_path))])

    summary = BatchSummary(total=len(items), errors_path=errors_path)
    sink = (open_output or open_sink)(opts.output, fmt, schema, overwrite=opts.overwrite, stream=stdout)
    error_sink: ErrorSink | None = None
    try:
        error_sink = ErrorSink(errors_path, overwrite=opts.overwrite)
        if not opts.overwrite:
            _refuse_records_made_otherwise(sink, opts, schema, extractor)
        # An input already in the output, or given twice in this run (same source, same text), is done once.
        done = set(sink.keys)
        todo = []
        for it in items:
            if (it.source, it.sha256) not in done:
                todo.append(it)
                done.add((it.source, it.sha256))
        summary.skipped = len(items) - len(todo)
        if todo:
            (runner or extract_all)(todo, opts, schema, sink, error_sink, summary, err, extractor)
    finally:
        _close_sinks(sink, error_sink)
    if not opts.quiet:
        where = "stdout" if opts.output in (None, "-") else opts.output
        parts = [f"extracted {summary.extracted}", f"failed {summary.failed}"]
        if summary.skipped:
            parts.append(f"skipped {summary.skipped} already in the output or given twice")
        line = f"reportx: {', '.join(parts)} of {summary.total} report{'s' if summary.total != 1 else ''} -> {where}"
        if summary.failed:
            line += f"; errors in {errors_path}"
        print(line, file=err)
    return summary


def _describe(made_by: tuple[str | None, str | None, str | None]) -> str:
    model, adapter, mode = made_by
    return f"model {model}, " + (f"adapter {adapter}, " if adapter else "no adapter, ") + f"{mode} mode"


def _refuse_records_made_otherwise(sink: Sink, opts: BatchOptions, schema, extractor=None) -> None:
    """Resume keeps the records already in the output, so they must come from what this run would use: the
    same model, adapter and mode (and, in JSONL, the schema's keys). Otherwise a re-run with another adapter
    would silently keep every old record. Costs nothing for a new output (no records, no model hashing)."""
    where = sink.path or opts.output
    other_layouts = sink.layouts - {tuple(schema.keys)}
    if other_layouts:
        keys = ", ".join(sorted(other_layouts)[0])
        raise ReportxError(f"{where} holds records with other keys than this schema's ({keys}): use --overwrite "
                           "or another output")
    if not sink.made_by:
        return
    from reportx.extract.extractor import resolve_setup

    if extractor is not None:
        ours = (extractor.model_id, extractor.adapter_id, extractor.mode)
    else:
        config = opts.config
        ours = resolve_setup(config.model, config.adapter, config.mode, merged=config.merged).made_by
    others = sorted(sink.made_by - {ours}, key=str)
    if others:
        raise ReportxError(
            f"{where} holds records made with {_describe(others[0])}; this run uses {_describe(ours)}: use "
            "--overwrite to replace them, or another output"
        )


def _close_sinks(sink: Sink, error_sink: ErrorSink | None) -> None:
    """Close both files and release both locks, even when closing the first one fails (a full disk): a
    long-lived process running several batches must not keep a lock of a failed one."""
    try:
        sink.close()
    finally:
        if error_sink is not None:
            error_sink.close(succeeded=sink.keys)


def _file_id(path: str) -> tuple[int, int] | None:
    """(device, inode) of an existing regular file, else None: what ``os.path.samefile`` compares."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return (st.st_dev, st.st_ino) if stat.S_ISREG(st.st_mode) else None


def _refuse_inputs_as_outputs(inputs: list[str], items: list[InputItem], outputs: list[tuple[str, str | None]]) -> None:
    """Raise ``ReportxError`` when the output or the errors file is one of the input files (by inode, so
    through symlinks, hard links and other spellings too), given directly or found in a given folder."""
    targets = {(label, path): _file_id(path) for label, path in outputs if path not in (None, "-")}
    targets = {key: fid for key, fid in targets.items() if fid is not None}
    if not targets:
        return  # a file that does not exist yet cannot have been read as an input
    # An item's source is its file's path, or "PATH:LINE" for a line of a JSONL file.
    candidates = {name for name in inputs if name != "-"}
    for item in items:
        candidates.add(item.source)
        candidates.add(item.source.rpartition(":")[0])
    candidates.discard("")
    candidates.discard("-")
    inputs_by_id: dict[tuple[int, int], str] = {}
    for name in sorted(candidates):
        fid = _file_id(name)
        if fid is not None:
            inputs_by_id.setdefault(fid, name)
    for (label, path), fid in targets.items():
        if fid in inputs_by_id:
            name = inputs_by_id[fid]
            same = f" ({name})" if name != path else ""
            raise ReportxError(f"the {label} {path} is also an input{same}: write it to another file")


def extract_all(todo, opts, schema, sink, error_sink, summary, err, extractor=None) -> None:
    """Extract ``todo`` and write each result, in input order, before the next is read: in this process, or with
    worker processes (``config.workers`` > 1, or :func:`~reportx.extract.workers.auto_workers` when it is None),
    each loading its own model."""
    from reportx.extract.workers import WorkerPool, auto_workers

    reports = sum(1 for it in todo if it.text is not None and it.text.strip())
    with contextlib.ExitStack() as stack:
        workers = auto_workers(opts.config, reports) if reports and extractor is None else 1
        if workers > 1:
            # Forked before this process starts a thread of its own (the progress bar's).
            config = opts.config.model_copy(update={"workers": workers})  # decided once, on the reports to extract
            pool = stack.enter_context(WorkerPool(config, schema, todo, notices=None if opts.quiet else
                                                  functools.partial(_print_notices, err=err)))
            results = pool.results()
        else:
            results = _extract_here(todo, opts, schema, err, extractor, reports > 0)
        _write_results(todo, results, opts, sink, error_sink, summary, err)


def _extract_here(todo, opts, schema, err, extractor, needs_model: bool):
    """The results of ``todo`` extracted in this process (``extractor``, or one made from the options)."""
    from reportx.extract.extractor import Extractor

    if needs_model and extractor is None:
        extractor = Extractor.from_config(opts.config, schema=schema)
        if not opts.quiet:
            _print_notices(extractor.notices, err)
    # In input order, whether the extractor decodes one report at a time or several at once (config.batch).
    return extractor.extract_many(todo) if extractor is not None else (_input_error(it, opts, schema) for it in todo)


def _print_notices(notices: list[str], err: TextIO) -> None:
    for notice in notices:
        print(f"reportx: {notice}", file=err)


def _write_results(todo, results, opts, sink, error_sink, summary, err) -> None:
    from reportx.progress import ItemProgress

    with ItemProgress("extracting", len(todo), err, enabled=not opts.quiet and len(todo) > 1) as progress:
        for item, result in zip(todo, results, strict=True):
            if item.notes:  # how the input was read (bytes replaced in decoding) goes into the record's _meta
                result.input_notes = list(item.notes)
            if result.ok:
                sink.write(result)
                summary.extracted += 1
            else:
                error_sink.write(result)
                summary.failed += 1
            progress.advance(failed=not result.ok)


def _input_error(item: InputItem, opts, schema):
    """An error result for an input that never reaches the model (unreadable, binary, empty)."""
    from reportx.extract.extractor import ExtractionResult

    error = item.error or ("empty report" if item.text is not None else "no text")
    return ExtractionResult(source=item.source, sha256=item.sha256, error=error, mode=opts.config.mode,
                            constrained=False)
