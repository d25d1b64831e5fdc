""":func:`extract_dataset`: the extraction of :mod:`reportx.extract` as a Ray Data ``map_batches`` stage."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from reportx.errors import ReportxError, require_extra
from reportx.extract.config import ExtractConfig
from reportx.scale.actor import ActorSpec, ExtractActor, ship_file
from reportx.scale.columns import RESULT_COLUMNS

#: Rows per actor call. Small, because one report takes 1-3 s on one core: a batch of 4 keeps every actor busy
#: to the end of a run and loses at most 4 reports' work when an actor dies (Ray retries the whole batch).
DEFAULT_BATCH_SIZE = 4


def extract_dataset(
    ds: Any,
    text_column: str = "text",
    *,
    model: str | Path | None = None,
    adapter: str | Path | None = None,
    constrained: bool = False,
    actors: int | None = None,
    threads_per_actor: int = 1,
    mode: str | None = None,
    merged: bool = False,
    shots: int = 3,
    schema: Any = None,
    n_ctx: int = 4096,
    max_tokens: int = 256,
    prompt_format: str = "auto",
    source_column: str | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    ship_files: bool | None = None,
    **extractor_kwargs: Any,
) -> Any:
    """Extract every row of a Ray Dataset with a pool of actors, each loading the GGUF model once.

    Returns a lazy ``ray.data.Dataset``: each row is the input row, one column per schema field, ``_record``
    (the record as JSON text), ``_meta`` (provenance as JSON text), ``error`` (null unless the report failed;
    failed rows are kept) and ``raw_output`` (see :mod:`reportx.scale.columns`). Rows come out in any order
    unless the Dataset's ``DataContext`` preserves order.

    Args:
        ds: the input ``ray.data.Dataset``; ``text_column`` holds each report's text.
        model, adapter, constrained, mode, merged, shots, schema, n_ctx, max_tokens, prompt_format: as
            :class:`reportx.extract.Extractor` takes them (None: the embedded model and bundled adapter).
        actors: the most actors in the pool, which grows from 1 (``ActorPoolStrategy``; older Ray's
            ``concurrency=``); default: the cluster's CPUs // ``threads_per_actor``.
        threads_per_actor: llama.cpp threads of each actor, and the CPUs Ray reserves for it (``num_cpus``).
        source_column: a column to use as ``_meta.source`` (the resume key with the text's sha256).
        batch_size: rows per actor call; a killed actor's batch is retried whole on a restarted actor.
        ship_files: send ``model`` / ``adapter`` files to the actors through Ray's object store (True) or open
            them at the same path on every node (False); default: ship when the cluster has several nodes.
        extractor_kwargs: other Extractor keyword arguments (``seed``, ``retry``, ``examples``).

    Raises:
        ReportxError: a bad option (one line, from :class:`ExtractConfig`), a missing file or column.
    """
    require_extra("ray", "reportx.scale.extract_dataset")
    # Extractor keyword arguments that are extraction options (seed, retry) go into the one ExtractConfig.
    extra = {name: extractor_kwargs.pop(name) for name in ("examples",) if name in extractor_kwargs}
    text_schema = schema is None or isinstance(schema, (str, Path))
    config = ExtractConfig.make(**{
        **extractor_kwargs, "model": _text(model), "adapter": _text(adapter), "mode": mode, "merged": merged,
        "constrained": constrained, "shots": shots, "schema_spec": _text(schema) if text_schema else None,
        "n_ctx": n_ctx, "threads": threads_per_actor, "max_tokens": max_tokens, "prompt_format": prompt_format,
    })  # a bad value: one ReportxError line naming the option
    spec = ActorSpec(config, text_column, source_column, schema=None if text_schema else schema, extra=extra)
    return map_extract(ds, spec, actors=actors, batch_size=batch_size, ship_files=ship_files)


def map_extract(ds: Any, spec: ActorSpec, *, actors: int | None = None, batch_size: int = DEFAULT_BATCH_SIZE,
                ship_files: bool | None = None) -> Any:
    """:func:`extract_dataset` for an :class:`ActorSpec` already made (``reportx extract --ray`` makes it from
    the batch's own :class:`ExtractConfig`). Needs Ray. ``spec.config.threads`` None: 1 thread per actor."""
    import ray
    import ray.data

    spec = _for_actors(spec)
    _check(spec, ds, batch_size, actors)
    threads = spec.config.threads or 1
    if not ray.is_initialized():
        ray.init()  # what Ray Data would do on first execution; here now, to size the pool and ship files
    if actors is None:
        actors = max(1, int(ray.cluster_resources().get("CPU", 1)) // threads)
    spec = _with_shipped_files(spec, ship_files)
    # One block is one actor task: a file read as a single block would otherwise go to a single actor.
    ds = ds.repartition(target_num_rows_per_block=batch_size)
    # An autoscaling pool (1 to `actors`): a pool that took every CPU at once would leave none for the tasks
    # that read and split the input, and wait for them forever (seen with 2 actors on 2 CPUs).
    # (`compute=` is what Ray 2.51+ calls `concurrency=`.)
    pool = ray.data.ActorPoolStrategy(min_size=1, max_size=actors)
    return ds.map_batches(
        ExtractActor, fn_constructor_kwargs={"spec": spec}, batch_size=batch_size, batch_format="pyarrow",
        compute=pool, num_cpus=threads,
    )


def _for_actors(spec: ActorSpec) -> ActorSpec:
    """``spec`` as actors read it: file paths absolute (an actor's working folder is not the driver's), and
    1 llama.cpp thread unless set (the CPUs Ray reserves for each actor)."""
    config = spec.config
    return dataclasses.replace(spec, config=config.model_copy(update={
        "model": _absolute(config.model), "adapter": _absolute(config.adapter),
        "schema_spec": _schema_spec(config.schema_spec), "threads": config.threads or 1,
    }))


def _text(value: str | Path | None) -> str | None:
    return None if value is None else str(value)


def _absolute(path: str | None) -> str | None:
    """A file path as actors see it: absolute, since an actor's working folder is not the driver's."""
    return None if path is None else str(Path(path).resolve())


def _schema_spec(schema: str | None) -> str | None:
    """A ``--schema`` style spec with its file made absolute (``s.json``, ``file.py:Class``); others unchanged."""
    if schema is None:
        return None
    if Path(schema).is_file():
        return str(Path(schema).resolve())
    file, sep, name = schema.rpartition(":")
    if sep and file.endswith(".py") and Path(file).is_file():
        return f"{Path(file).resolve()}:{name}"
    return schema


def _check(spec: ActorSpec, ds: Any, batch_size: int, actors: int | None) -> None:
    """Fail on the driver, before any actor loads a model, for mistakes an actor would only hit later (the
    extraction options were checked once, when their :class:`ExtractConfig` was made)."""
    from reportx.extract.extractor import coerce_schema

    if actors is not None and actors < 1:
        raise ReportxError(f"actors must be 1 or more, got {actors}")
    if batch_size < 1:
        raise ReportxError(f"batch_size must be 1 or more, got {batch_size}")
    for label, path in (("model", spec.config.model), ("adapter", spec.config.adapter)):
        if path is not None and not Path(path).is_file():
            raise ReportxError(f"{label} file not found: {path}")
    # The Extractor's own reading of a schema, on the driver.
    schema = coerce_schema(spec.schema if spec.schema is not None else spec.config.schema_spec)
    columns = list(ds.columns() or [])
    wanted = [c for c in (spec.text_column, spec.source_column) if c is not None]
    missing = [c for c in wanted if c not in columns]
    if missing:
        raise ReportxError(f"the dataset has no column {missing[0]!r} (it has: {', '.join(columns)})")
    clash = [c for c in columns if c in schema.keys or c in RESULT_COLUMNS]
    if clash:
        raise ReportxError(f"input column {clash[0]!r} has the name of an output column: rename or drop it first")


def _with_shipped_files(spec: ActorSpec, ship_files: bool | None) -> ActorSpec:
    """``spec`` with the model and adapter files put into the object store when they are to be shipped."""
    import ray

    if ship_files is None:
        ship_files = sum(1 for node in ray.nodes() if node.get("Alive")) > 1
    if not ship_files:
        return spec
    paths = {"model_file": spec.config.model, "adapter_file": spec.config.adapter}
    shipped: dict[str, Any] = {name: ship_file(path) for name, path in paths.items()
                               if path is not None and getattr(spec, name) is None}
    return dataclasses.replace(spec, **shipped)
