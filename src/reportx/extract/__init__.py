"""Extraction: report text in, one validated JSON record out, with a GGUF model through llama-cpp-python.

``Extractor`` is the Python API; ``reportx extract`` (:mod:`reportx.cli`) wraps it for files, folders, stdin
and JSONL, writing JSONL, CSV or SQLite with resume.
"""

from reportx.extract.extractor import ExtractionResult, Extractor

__all__ = ["ExtractionResult", "Extractor"]
