"""synth: realistic daily-report texts with their gold JSON records, in Spanish and English.

Random structured records (``records``) are written in many styles (``families``) with every convention of
BRIEF section 2 (``surface``), plus nulls, noise and distractors, and split by template family so that the
test split measures unseen phrasings::

    from reportx.synth import synthesize, write_dataset
    examples = synthesize(n=2000, seed=0)
    stats = write_dataset(examples, "data/synth")
"""

from reportx.synth.families import FAMILIES, STYLE_SPLITS, Family
from reportx.synth.generate import SPLITS, Example, compute_stats, synthesize, write_dataset

__all__ = ["FAMILIES", "SPLITS", "STYLE_SPLITS", "Example", "Family", "compute_stats", "synthesize", "write_dataset"]
