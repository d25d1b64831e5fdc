"""reportx: fine-tune a small language model to turn free-text daily project reports into exact JSON records."""

__version__ = "0.1.0"
