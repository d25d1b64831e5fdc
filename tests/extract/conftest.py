"""Shared fixtures for the extraction tests: one loaded model per session (llama.cpp, 2 threads)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "samples" / "reports"
# llama.cpp threads: the product's default (1 on a 2-core machine, see reportx.extract.engine.default_threads)
# unless REPORTX_TEST_THREADS says otherwise. Two threads on a 2-core machine shared with other jobs collapse.
THREADS = int(os.environ["REPORTX_TEST_THREADS"]) if os.environ.get("REPORTX_TEST_THREADS") else None


@pytest.fixture(scope="session")
def model_path() -> Path:
    from reportx.models import default_base_model

    return default_base_model()


@pytest.fixture(scope="session")
def engine(model_path):
    from reportx.extract.engine import Engine

    return Engine(model_path, n_ctx=4096, n_threads=THREADS)


@pytest.fixture(scope="session")
def extractor(engine):
    """Few-shot, free decoding with constrained retry: the default of ``reportx extract`` today."""
    from reportx.extract import Extractor

    return Extractor(engine=engine)


@pytest.fixture(scope="session")
def constrained_extractor(engine):
    from reportx.extract import Extractor

    return Extractor(engine=engine, constrained=True)


@pytest.fixture(scope="session")
def synthetic_reports():
    """Synthetic val-split reports with gold records (never the test split)."""
    synth = pytest.importorskip("reportx.synth")
    examples = [e for e in synth.synthesize(n=400, seed=7) if e.split == "val"]
    assert len(examples) >= 20
    return examples[:20]


def cli_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env
