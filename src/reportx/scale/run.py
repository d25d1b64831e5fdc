"""``reportx extract --ray``: the batch of :mod:`reportx.extract.batch` with the extraction on a Ray cluster.

Everything but the extraction is the single-process batch's own code (:func:`run_batch`): option checks,
reading the inputs, opening (and locking) the output and the errors file, skipping the inputs already in the
output, the summary line and the exit code. Only the loop over the inputs still to do is replaced: they become
a Ray Dataset, :func:`reportx.scale.extract_dataset` extracts them, and the driver (this process) writes each
result through the same JSONL / CSV / SQLite sink as it arrives -- in input order, so that the output is the
single process's, line for line. A Ray task retried after an actor died delivers its rows once, and the sink's
resume keys make a second delivery of the same (source, sha256) impossible anyway.

``-o DIR --format parquet``: Ray Data's writer writes one Parquet file per block into DIR, from the workers;
the driver then reads back the new files' result columns to count them and to write failed reports to the
errors file. Failed reports stay in the Parquet files too, as rows with ``error`` set.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO, TextIO

from reportx.errors import ReportxError, require_extra
from reportx.extract.batch import BatchOptions, BatchSummary, run_batch
from reportx.extract.extractor import ExtractionResult
from reportx.extract.inputs import InputItem
from reportx.extract.outputs import ErrorSink, Sink, lock_output
from reportx.scale.actor import INPUT_ERROR, INPUT_NOTES, INPUT_SHA256, PRIVATE_INPUT_COLUMNS, ActorSpec
from reportx.scale.columns import result_from_row


def run_ray_batch(opts: BatchOptions, *, ray: bool = True, address: str | None = None, actors: int | None = None,
                  stdin: BinaryIO | None = None, stdout: TextIO | None = None,
                  stderr: TextIO | None = None) -> BatchSummary:
    """Run one ``reportx extract`` batch with the extraction on Ray (``ray=False``: a usage error).

    ``address``: a running cluster's address (``ray start --head`` prints it); None starts a local Ray instance
    on this machine, or uses the Ray this process already initialised. ``actors``: extraction actors (default:
    the cluster's CPUs divided by ``opts.config.threads``, 1 thread each by default).
    """
    parquet = (opts.fmt or "").lower() == "parquet"
    if not ray:
        raise ReportxError("--ray-address, --actors and --format parquet need --ray")
    if actors is not None and actors < 1:
        raise ReportxError(f"--actors must be 1 or more, got {actors}")
    require_extra("ray", "reportx extract --ray")
    if parquet and opts.errors is None and opts.output not in (None, "-"):
        # The errors file of a folder DIR is DIR.errors.jsonl beside it, as for a file (not the stdout default
        # that an existing folder, not being a regular file, would get).
        folder = Path(opts.output)
        opts = dataclasses.replace(opts, errors=str(folder.with_name(folder.stem + ".errors.jsonl")))
    runner = functools.partial(_extract_on_ray, address=address, actors=actors, parquet=parquet)
    return run_batch(opts, stdin, stdout, stderr, runner=runner, open_output=ParquetOutput if parquet else None)


def _extract_on_ray(todo: list[InputItem], opts: BatchOptions, schema: Any, sink: Sink, error_sink: ErrorSink,
                    summary: BatchSummary, err: TextIO, extractor: Any = None, *, address: str | None,
                    actors: int | None, parquet: bool) -> None:
    """The ``runner`` of :func:`run_batch`: extract ``todo`` on Ray and write every result once."""
    if not parquet and not any(it.text is not None and it.text.strip() for it in todo):
        # Nothing for a model (unreadable or empty inputs only): no Ray, and the error records the single
        # process writes then (no model was loaded, so none is named).
        for item in todo:
            error = item.error or ("empty report" if item.text is not None else "no text")
            result = ExtractionResult(source=item.source, sha256=item.sha256, error=error, mode=opts.config.mode,
                                      input_notes=list(item.notes))
            _account(result, sink, error_sink, summary, write=True)
        return
    from reportx.scale.dataset import map_extract

    with ray_session(address), _input_order(not parquet):
        import ray.data

        # The batch's own ExtractConfig, as it is: 1 thread per actor unless --threads says otherwise.
        spec = ActorSpec(opts.config, "text", source_column="source")
        out = map_extract(ray.data.from_arrow(input_table(todo)), spec, actors=actors)
        if parquet:
            _write_parquet(out.drop_columns(list(PRIVATE_INPUT_COLUMNS)), sink, error_sink, summary)
        else:
            _write_rows(out, len(todo), opts, sink, error_sink, summary, err)


def input_table(items: list[InputItem]) -> Any:
    """The inputs as an Arrow table: ``source``, ``text`` and the private columns an unreadable input needs."""
    import pyarrow as pa

    return pa.table({
        "source": pa.array([it.source for it in items], type=pa.string()),
        "text": pa.array([it.text for it in items], type=pa.string()),
        INPUT_ERROR: pa.array([it.error for it in items], type=pa.string()),
        INPUT_SHA256: pa.array([it.sha256 for it in items], type=pa.string()),
        INPUT_NOTES: pa.array([json.dumps(it.notes) if it.notes else None for it in items], type=pa.string()),
    })


def _write_rows(out: Any, total: int, opts: BatchOptions, sink: Sink, error_sink: ErrorSink,
                summary: BatchSummary, err: TextIO) -> None:
    """Stream the results to the driver and write each through the sinks as it arrives."""
    from reportx.progress import ItemProgress

    with ItemProgress("extracting", total, err, enabled=not opts.quiet and total > 1) as progress:
        for batch in out.iter_batches(batch_size=None, batch_format="pyarrow"):
            for row in batch.to_pylist():
                result = result_from_row(row)
                if _account(result, sink, error_sink, summary, write=True):
                    progress.advance(failed=not result.ok)


@contextmanager
def _input_order(preserve: bool) -> Iterator[None]:
    """Results in input order (the single process's output, line for line) for the Datasets made inside: a
    Dataset copies the current ``DataContext`` when it is created, so this must wrap their creation."""
    from ray.data import DataContext

    context = DataContext.get_current()
    before = context.execution_options.preserve_order
    context.execution_options.preserve_order = preserve or before
    try:
        yield
    finally:
        context.execution_options.preserve_order = before


def _account(result: Any, sink: Sink, error_sink: ErrorSink, summary: BatchSummary, *, write: bool) -> bool:
    """Write (or, for Parquet, only count) one result; False for a (source, sha256) already written."""
    key = (result.source or "", result.sha256)
    if result.ok:
        if key in sink.keys:
            return False  # never twice in the output, whatever a retry delivered
        if write:
            sink.write(result)
        else:
            sink.keys.add(key)
        summary.extracted += 1
    else:
        error_sink.write(result)
        summary.failed += 1
    return True


@contextmanager
def ray_session(address: str | None) -> Iterator[None]:
    """Ray for one batch: the one this process already runs, else a local instance (``address`` None) or the
    cluster at ``address``, shut down afterwards. Ray's own logs and progress bars stay off stderr."""
    import ray
    from ray.data import DataContext

    if ray.is_initialized():  # the caller's Ray (a notebook, a test): used as it is and left running
        yield
        return
    # stderr is the CLI's: its progress and summary, and one line per error. Ray's notices (token auth, a
    # deprecation, the C++ core worker's warnings) stay in Ray's log files; its errors still raise here.
    os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "fatal")
    logging.getLogger("ray.data").setLevel(logging.ERROR)
    kwargs: dict[str, Any] = {"address": address, "log_to_driver": False, "logging_level": logging.ERROR}
    if address is None:
        kwargs["include_dashboard"] = False  # a local instance for one batch: no web UI to start
    ray.init(**kwargs)
    context = DataContext.get_current()
    context.enable_progress_bars = False  # reportx prints its own progress
    context.print_on_execution_start = False
    try:
        yield
    finally:
        ray.shutdown()


class ParquetOutput(Sink):
    """``-o DIR --format parquet``: a folder of Parquet files that Ray Data writes. This holds the folder's lock
    (``DIR/.reportx.lock``, a name Parquet readers skip) and the keys of the reports already extracted there."""

    def __init__(self, output: str | None, fmt: str | None, schema: Any, overwrite: bool = False,
                 stream: TextIO | None = None) -> None:
        super().__init__()
        if output in (None, "-"):
            raise ReportxError("--format parquet writes a folder of files: pass -o DIR")
        path = Path(output)
        if path.exists() and not path.is_dir():
            raise ReportxError(f"-o {output} is not a folder: --format parquet writes one file per block into a folder")
        path.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = lock_output(path / ".reportx")
        try:
            if overwrite:
                for old in path.glob("*.parquet"):
                    old.unlink()
            self.before = set(path.glob("*.parquet"))
            for meta, error in _parquet_results(self.before):
                if error is None:  # a failed report is tried again, as with the other outputs
                    self.keys.add((meta.get("source") or "", meta["sha256"]))
                    self.made_by.add((meta.get("model"), meta.get("adapter"), meta.get("mode")))
        except BaseException:
            self._unlock()
            raise

    def write(self, result: Any) -> None:
        raise NotImplementedError("Ray Data's writer writes the Parquet files")  # pragma: no cover


def _parquet_results(files: set[Path]) -> Iterator[tuple[dict[str, Any], str | None]]:
    """(``_meta``, ``error``) of every row of reportx's Parquet files."""
    import pyarrow.parquet as pq

    for path in sorted(files):
        try:
            table = pq.read_table(path, columns=["_meta", "error"])
        except Exception as exc:  # noqa: BLE001 - pyarrow raises several kinds for a file that is not ours
            raise ReportxError(f"cannot read {path} as a reportx Parquet file: {exc}") from None
        for row in table.to_pylist():
            yield json.loads(row["_meta"]), row["error"]


def _write_parquet(out: Any, sink: Sink, error_sink: ErrorSink, summary: BatchSummary) -> None:
    """Ray Data writes the files; then the new files' rows are counted and the failed ones go to the errors file."""
    import pyarrow.parquet as pq

    assert isinstance(sink, ParquetOutput) and sink.path is not None
    out.write_parquet(str(sink.path))
    columns = ["_record", "_meta", "error", "raw_output"]
    for path in sorted(set(sink.path.glob("*.parquet")) - sink.before):
        for row in pq.read_table(path, columns=columns).to_pylist():
            _account(result_from_row(row), sink, error_sink, summary, write=False)


__all__ = ["ParquetOutput", "input_table", "ray_session", "run_ray_batch"]
