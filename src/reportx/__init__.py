"""reportx: fine-tune a small language model to turn free-text daily project reports into exact JSON records.

The Python API (the CLI, ``reportx``, wraps the same functions):

>>> import reportx
>>> records = reportx.extract_texts(["Proyecto Zafiro: piloto cerrado. Estado: verde."])
>>> records[0].values["status"]
'Verde'

``extract_texts`` and ``extract_frame`` (pandas) return typed :class:`Record` objects / columns;
:class:`Extractor` is the engine behind them, for full control. They are imported on first use, so that
``import reportx`` (and the CLI's start) stays fast.
"""

from typing import Any

__version__ = "0.1.0"
__all__ = ["Extractor", "Record", "extract_frame", "extract_texts", "__version__"]

_API = {"Extractor": "reportx.extract.extractor", "Record": "reportx.extract.api",
        "extract_texts": "reportx.extract.api", "extract_frame": "reportx.extract.api"}


def __getattr__(name: str) -> Any:
    if name in _API:
        import importlib

        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'reportx' has no attribute {name!r}")
