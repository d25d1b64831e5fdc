"""Scale-out: the extraction of :mod:`reportx.extract` on a Ray cluster (``pip install 'reportx[ray]'``).

>>> import ray, reportx.scale
>>> ds = ray.data.read_json("reports.jsonl")                  # a "text" column
>>> out = reportx.scale.extract_dataset(ds, "text", actors=8)   # lazy: one GGUF model per actor
>>> out.write_parquet("records/")

``reportx extract INPUT... --ray [--ray-address ADDR] [--actors N]`` runs the CLI's batch (same inputs, same
JSONL / CSV / SQLite outputs with resume, plus ``-o DIR --format parquet``) this way: :mod:`reportx.scale.run`.
Importing this package needs no Ray; calling :func:`extract_dataset` does. See docs/scale-out.md.
"""

from reportx.scale.dataset import extract_dataset

__all__ = ["extract_dataset"]
