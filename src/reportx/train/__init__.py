"""LoRA / QLoRA fine-tuning: ``train(load_config("run.yaml"))`` or ``reportx train --config run.yaml``."""

from reportx.train.backend import BackendChoice, select_backend
from reportx.train.config import TrainConfig, load_config
from reportx.train.recipe import TrainResult, train
from reportx.train.runcard import RunCard, load_run_card

__all__ = [
    "BackendChoice",
    "RunCard",
    "TrainConfig",
    "TrainResult",
    "load_config",
    "load_run_card",
    "select_backend",
    "train",
]
