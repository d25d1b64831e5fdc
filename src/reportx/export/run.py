"""``reportx export``: a training run's adapter -> GGUF, optionally checked against the trained model."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reportx.errors import ReportxError
from reportx.export.check import CheckResult, check_adapter, resolve_val_file
from reportx.export.lora import LoraExport, export_lora, locate_adapter
from reportx.train.runcard import RunCard

if TYPE_CHECKING:
    from reportx.eval.calibrate import CalibrationReport


@dataclass
class ExportResult:
    """What ``export_run`` wrote and, with ``check > 0``, how the GGUF's answers compared with the trained model's."""

    adapter_gguf: Path
    lora: LoraExport
    check: CheckResult | None = None
    check_file: Path | None = None  # RUN_DIR/export_check.json, the check's per-report details
    calibration: CalibrationReport | None = None  # with calibrate > 0: the confidence calibration written

    def summary(self) -> str:
        lora = self.lora
        text = (
            f"wrote {self.adapter_gguf} ({lora.architecture} LoRA, {lora.n_pairs} tensor pairs, rank {lora.rank}, "
            f"alpha {lora.alpha:g})"
        )
        if self.check is not None:
            c = self.check
            text += f"; check: {c.matches}/{c.n} answers identical to the trained model's ({c.rate:.0%})"
        if self.calibration is not None:
            text += f"; {self.calibration.summary()}"
        return text


def export_run(
    run_dir: str | Path,
    out: str | Path | None = None,
    check: int = 0,
    *,
    base_gguf: str | Path | None = None,
    max_tokens: int = 256,
    torch_model: Any = None,
    dtype: str = "f16",
    n_threads: int | None = None,
    calibrate: int = 0,
) -> ExportResult:
    """Export ``RUN_DIR/adapter`` to ``out`` (default ``RUN_DIR/adapter.gguf``); with ``check > 0`` compare greedy
    answers on that many validation reports (:func:`reportx.export.check_adapter`) and write the details to
    ``RUN_DIR/export_check.json``. ``base_gguf`` is the base llama.cpp loads for the check (default: the run's
    base when it is a GGUF file). ``n_threads``: llama.cpp threads in the check. ``calibrate``: fit the
    confidence calibration on that many validation reports and write it beside the GGUF
    (:func:`reportx.eval.calibrate.calibrate_model`)."""
    if check < 0:
        raise ReportxError(f"--check must be a number of reports (0 for none), got {check}")
    adapter_dir, found_run_dir, card = locate_adapter(run_dir)
    if card is None or found_run_dir is None:
        raise ReportxError(f"{run_dir} is not a training run directory (no run_card.json); export an adapter directory with write_lora_gguf")
    out_path = Path(out) if out is not None else found_run_dir / "adapter.gguf"
    if out_path.is_dir():
        out_path = out_path / "adapter.gguf"
    lora = export_lora(found_run_dir, out_path, base=base_gguf, dtype=dtype)
    result = ExportResult(adapter_gguf=out_path, lora=lora)
    if check:
        result.check = check_adapter(
            found_run_dir, out_path, check, base_gguf=base_gguf, max_tokens=max_tokens, torch_model=torch_model,
            n_threads=n_threads,
        )
        result.check_file = found_run_dir / "export_check.json"
        result.check_file.write_text(json.dumps(result.check.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if calibrate:
        from reportx.eval.calibrate import calibrate_model

        run_card = card if isinstance(card, RunCard) else RunCard.model_validate(card)
        if run_card.data.val_file is None:
            raise ReportxError("the run has no validation file to calibrate on")
        result.calibration = calibrate_model(
            resolve_val_file(run_card.data.val_file, found_run_dir), adapter=out_path,
            model=run_card.base_gguf(base_gguf), schema_spec=run_card.schema_spec, limit=calibrate, threads=n_threads,
        )
    return result
