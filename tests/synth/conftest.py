"""Shared fixtures: one 2000-record corpus (seed 0) for the coverage and faithfulness tests, built once."""

from __future__ import annotations

import time

import pytest

from reportx.synth import synthesize, write_dataset


@pytest.fixture(scope="session")
def corpus_run(tmp_path_factory):
    """(examples, stats, out_dir, seconds) for synthesize(2000, 0) + write_dataset."""
    out = tmp_path_factory.mktemp("synth2000")
    start = time.perf_counter()
    examples = synthesize(2000, 0)
    stats = write_dataset(examples, out)
    return examples, stats, out, time.perf_counter() - start


@pytest.fixture(scope="session")
def corpus(corpus_run):
    return corpus_run[0]
