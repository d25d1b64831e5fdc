"""The Ray Data actor that extracts a batch of rows, and how model files reach actors on other nodes.

One :class:`ExtractActor` per Ray actor: it builds one :class:`reportx.extract.Extractor` (model and adapter
loaded once) in its constructor and turns each batch (a ``pyarrow.Table``) into the same table plus the result
columns of :mod:`reportx.scale.columns`. Nothing here imports Ray at module import: the base install can import
it, and an actor needs only reportx, llama-cpp-python and pyarrow.

Model files: a path is opened as it is on the actor's node, so it must be a path every node shares (NFS, or the
same file put at the same place) -- or the driver ships the file through Ray's object store
(:func:`ship_file`), and each actor writes it once into its node's reportx cache
(``cache_dir()/ray-files/<sha256>/<name>``, the same file name, so ``_meta.model`` is the same id). The embedded
default model and the bundled adapter need neither: they come with the ``reportx`` install every node has.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reportx.extract.config import ExtractConfig
from reportx.extract.inputs import InputItem

#: Optional input columns the CLI fills in so that an unreadable file (no text) keeps its error, its file
#: sha256 and its decoding notes, exactly as the single-process batch reports them.
INPUT_ERROR = "_input_error"
INPUT_SHA256 = "_input_sha256"
INPUT_NOTES = "_input_notes"
PRIVATE_INPUT_COLUMNS = (INPUT_ERROR, INPUT_SHA256, INPUT_NOTES)


@dataclass(frozen=True)
class ShippedFile:
    """A model or adapter file carried by Ray's object store: its name, sha256 and the ``ObjectRef`` of its bytes."""

    name: str
    sha256: str
    ref: Any


def ship_file(path: str | Path) -> ShippedFile:
    """Put a file's bytes into Ray's object store (the driver's node holds them; actors pull them once)."""
    import ray

    data = Path(path).read_bytes()
    return ShippedFile(Path(path).name, hashlib.sha256(data).hexdigest(), ray.put(data))


def local_copy(shipped: ShippedFile) -> Path:
    """The shipped file on this node: written once into the reportx cache (atomically, checked by sha256)."""
    import ray

    from reportx.models import cache_dir

    target = cache_dir() / "ray-files" / shipped.sha256 / shipped.name
    if target.is_file() and target.stat().st_size > 0:
        return target  # a file under its final name was checked before the rename
    data = ray.get(shipped.ref)
    if hashlib.sha256(data).hexdigest() != shipped.sha256:  # pragma: no cover - object store corruption
        raise RuntimeError(f"shipped {shipped.name} does not match its sha256")
    target.parent.mkdir(parents=True, exist_ok=True)
    # Another actor on this node may write the same file now: each writes its own temporary, the rename wins.
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".part-")
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, target)
    return target


@dataclass(frozen=True)
class ActorSpec:
    """What every actor needs to build its Extractor: the extraction options, and the files shipped to it.

    ``config``: the extraction options (:class:`ExtractConfig`, validated once; ``config.threads`` is each
    actor's llama.cpp threads), its paths as every node opens them. ``text_column`` / ``source_column``: the
    input columns of each report's text and of its ``_meta.source``. ``schema``: a schema object (a Pydantic
    class, a JSON Schema dict) in place of ``config.schema_spec``, as :meth:`Extractor.from_config` takes it.
    ``model_file`` / ``adapter_file``: ``config.model`` / ``config.adapter`` shipped through Ray's object store
    (:func:`ship_file`): each actor opens its node's copy in place of the path. ``extra``: more
    :meth:`Extractor.from_config` keyword arguments (``examples``).
    """

    config: ExtractConfig
    text_column: str
    source_column: str | None = None
    schema: Any = None
    model_file: ShippedFile | None = None
    adapter_file: ShippedFile | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def local_config(self) -> ExtractConfig:
        """``config`` with this node's copies of the shipped files in place of their paths."""
        shipped = {"model": self.model_file, "adapter": self.adapter_file}
        update = {name: str(local_copy(file)) for name, file in shipped.items() if file is not None}
        return self.config.model_copy(update=update) if update else self.config


class ExtractActor:
    """Ray Data callable class: loads the model and adapter once, then extracts batch after batch."""

    def __init__(self, spec: ActorSpec) -> None:
        from reportx.extract import Extractor

        self.spec = spec
        self.extractor = Extractor.from_config(spec.local_config(), schema=spec.schema, **spec.extra)

    def __call__(self, batch: Any) -> Any:
        """One batch (a ``pyarrow.Table``): every row extracted (``--batch`` of them decoded at once), the result
        columns appended; no row dropped."""
        from reportx.scale.columns import result_columns

        rows = batch.to_pylist()
        results = list(self.extractor.extract_many(self._item(row) for row in rows))
        for row, result in zip(rows, results, strict=True):
            result.source = self._source(row)
            result.input_notes = json.loads(row.get(INPUT_NOTES) or "[]")
        for name, column in result_columns(self.extractor.schema, results).items():
            batch = batch.append_column(name, column)
        return batch

    def _source(self, row: dict[str, Any]) -> str | None:
        value = row.get(self.spec.source_column) if self.spec.source_column else None
        return None if value is None else str(value)

    def _item(self, row: dict[str, Any]) -> tuple[str | None, str] | InputItem:
        """One row as the single-process batch reads an input: its text, or an error item (an unreadable file, or
        not text at all), which extracts to an error result as ``extract_item`` makes it."""
        text = row.get(self.spec.text_column)
        if isinstance(text, str):
            return (self._source(row), text)
        error = row.get(INPUT_ERROR) or f"no text in column {self.spec.text_column!r}"
        return InputItem(self._source(row) or "", error=error, sha256=row.get(INPUT_SHA256) or "")
