"""Merged export: a base GGUF with a LoRA adapter folded into its weights, one file that needs no ``lora_path``.

From a GGUF base (the embedded Gemma 3 270M Q4_K_M by default), in pure Python with the ``gguf`` package:

- every metadata key/value of the base is copied as stored (tokenizer, hyper-parameters, chat template, ...);
- every tensor the adapter modifies is de-quantised to float32 (``gguf.quants.dequantize``), gets
  ``scale * B @ A`` added in float32, exactly the delta llama.cpp adds at run time for a GGUF LoRA
  (``scale = adapter.lora.alpha / rank``; the adapter's tensors already carry llama.cpp's names, layouts and the
  llama q/k row permutation, see :mod:`reportx.export.lora`), and is written as f16 or Q8_0;
- every other tensor is copied byte for byte in its original quantisation.

A run's PEFT adapter is first written as a float32 GGUF LoRA with :func:`~reportx.export.lora.export_lora` (one
place for PEFT's scaling rules, rsLoRA, rank/alpha patterns and the row permutation), then merged. A GGUF LoRA can be
merged directly (:func:`merge_lora_gguf`), which is how the adapter bundled with reportx, shipped as GGUF only, is
merged. ``q4_k_m`` writes the f16 merge first and re-quantises it with llama.cpp's own quantizer
(:func:`reportx.export.quantize.quantize_gguf`). A run trained on a Hugging Face base is merged and converted by
``reportx.export.convert.export_merged_hf`` instead.

Every merge measures how much of the adapter's change the written weights keep (:func:`delta_kept`). On a base
that is already 4-bit (the default Q4_K_M), a LoRA's change is smaller than the quantisation step, so re-quantising
the merged matrices to 4 bits rounds them back onto the base's grid: with the bundled adapter, q4_k_m keeps about 8%
of the change and answers like the base, while q8_0 and f16 keep all of it. The summary warns when that happens;
q4_k_m is the right choice from a full-precision (Hugging Face) base.
"""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from reportx.errors import ReportxError
from reportx.export.check import CheckResult, check_gguf, compare_ggufs
from reportx.export.gguf_io import GGUFHeader, GGUFTensorInfo, add_metadata, atomic_gguf_writer, read_gguf_header
from reportx.export.lora import ADAPTER_CONFIG, export_lora
from reportx.models import ANSWER_KEY, answer_format
from reportx.train.runcard import is_run_dir, load_run_card

#: what ``quant`` can be: the type of the merged tensors (f16, q8_0), or a whole file re-quantised by llama.cpp
QUANTS = ("f16", "q8_0", "q4_k_m")
#: what a merged model's answers can be checked against (``auto``: the trained PyTorch model when the run has its
#: PEFT adapter, else the base + GGUF adapter in llama.cpp)
CHECK_AGAINST = ("auto", "pytorch", "adapter")
#: below this median share of the adapter's change kept, the merged model has lost the fine-tune (summary warns)
LOW_DELTA_KEPT = 0.5
#: metadata the writer sets itself: the architecture (from its constructor) and the data alignment (which must
#: also change where the writer pads tensors, so it goes through ``add_custom_alignment``)
WRITER_KEYS = ("general.architecture", "general.alignment")


@dataclass
class MergeResult:
    """What :func:`merge_run` / :func:`merge_lora_gguf` wrote and, with a check, how its answers compared."""

    path: Path
    quant: str
    architecture: str
    base_gguf: Path | None  # None when the base was a Hugging Face model (the converter's merge)
    adapter: Path  # the PEFT adapter directory or the GGUF LoRA that was merged
    merged: dict[str, str] = field(default_factory=dict)  # adapted tensor -> ggml type written
    copied: int = 0  # tensors copied byte for byte from the base
    #: adapted tensors written in another type than asked (a row that does not split into whole blocks), or that
    #: llama.cpp's quantizer put in a fallback type, with the reason
    fallbacks: dict[str, str] = field(default_factory=dict)
    file_type: int | None = None  # general.file_type of the written file
    #: per merged tensor, the share of the adapter's change that the written weights carry: the projection of
    #: (written - base) on ``scale * B @ A``, 1.0 when the change is applied exactly (see :func:`delta_kept`)
    delta_kept: dict[str, float] = field(default_factory=dict)
    modelfile: Path | None = None
    check: CheckResult | None = None
    check_file: Path | None = None
    seconds: float = 0.0

    @property
    def median_delta_kept(self) -> float | None:
        """The median of :attr:`delta_kept`, or None when not measured."""
        return float(np.median(list(self.delta_kept.values()))) if self.delta_kept else None

    def summary(self) -> str:
        """One line for the command line."""
        text = f"wrote {self.path} ({self.architecture}, {self.quant}"
        if self.merged:
            types = sorted(set(self.merged.values()))
            text += f", {len(self.merged)} merged tensors as {'/'.join(types)}, {self.copied} copied from the base"
        text += ")"
        if self.fallbacks:
            text += f"; {len(self.fallbacks)} tensors in a fallback type"
        kept = self.median_delta_kept
        if kept is not None:
            text += f"; adapter change kept {kept:.0%} (median over merged tensors)"
            if kept < LOW_DELTA_KEPT:
                text += (
                    f" - WARNING: {self.quant} rounds most of the fine-tune away (the base is already quantised and "
                    "the change is smaller than its quantisation step); use --quant q8_0 or f16, or merge from the "
                    "full-precision base"
                )
        if self.modelfile is not None:
            text += f"; Ollama Modelfile {self.modelfile}"
        if self.check is not None:
            c = self.check
            versus = "the trained model's" if c.reference == "pytorch" else "base + adapter's in llama.cpp"
            text += f"; check: {c.matches}/{c.n} answers identical to {versus} ({c.rate:.0%})"
        return text


# Reading tensors -------------------------------------------------------------------------------------------------
#
# The header reader of gguf_io parses the metadata in a fraction of a second, where gguf.GGUFReader builds a numpy
# view per vocabulary entry (about 10 s for Gemma's 262k tokens); with the tensor table it gives every tensor's
# type, shape and offset, and the data are read through a memory map, so untouched tensors are copied without
# being loaded.


def tensor_bytes(header: GGUFHeader, info: GGUFTensorInfo) -> np.ndarray:
    """A tensor's stored bytes as uint8, shaped (rows..., bytes per row) in numpy order (a memory map)."""
    import gguf

    qtype = gguf.GGMLQuantizationType(info.ggml_type)
    if qtype not in gguf.GGML_QUANT_SIZES:
        raise ReportxError(f"{header.path}: tensor {info.name} has a type ({qtype.name}) the gguf package cannot read")
    block, size = gguf.GGML_QUANT_SIZES[qtype]
    if info.shape[0] % block:
        raise ReportxError(
            f"{header.path}: tensor {info.name} rows of {info.shape[0]} do not split into {qtype.name} blocks"
        )
    row_bytes = info.shape[0] // block * size
    rows = tuple(reversed(info.shape[1:]))
    return np.memmap(
        header.path, dtype=np.uint8, mode="r", offset=header.data_start + info.offset, shape=(*rows, row_bytes)
    )


def _tensor_f32(header: GGUFHeader, name: str) -> np.ndarray:
    """A tensor de-quantised to float32, in numpy order (the reverse of ggml's ``ne``)."""
    import gguf

    info = header.tensors[name]
    data = gguf.quants.dequantize(np.asarray(tensor_bytes(header, info)), gguf.GGMLQuantizationType(info.ggml_type))
    return np.asarray(data, dtype=np.float32).reshape(tuple(reversed(info.shape)))


# The GGUF LoRA ------------------------------------------------------------------------------------------------------


@dataclass
class _Lora:
    path: Path
    architecture: str
    alpha: float
    pairs: dict[str, tuple[np.ndarray, np.ndarray]]  # base tensor -> (A (r, in), B (out, r)), float32

    def delta(self, name: str) -> np.ndarray:
        """``scale * B @ A`` for one base tensor, float32, shape (out, in): llama.cpp's scale, ``alpha / rank``
        (``rank = b->ne[0]``; alpha 0 means scale 1), times its default user scale 1.0.

        Computed in float64 and rounded once to float32, so the merged bytes do not depend on which BLAS kernel
        the machine's CPU selects (float32 products summed in another order round differently, and extraction
        merges the bundled adapter on each machine: :func:`reportx.models.default_merged_model`)."""
        a, b = self.pairs[name]
        rank = b.shape[1]
        scale = self.alpha / rank if self.alpha else 1.0
        return ((b.astype(np.float64) * scale) @ a.astype(np.float64)).astype(np.float32)


def delta_kept(written: np.ndarray, base: np.ndarray, delta: np.ndarray) -> float:
    """The share of the adapter's change ``delta`` that ``written - base`` carries: its projection on ``delta``.

    1.0 when the change is applied (f16: within rounding; Q8_0: unbiased, with rounding noise); near 0 when
    quantisation rounded it away, which happens when a base already on a 4-bit grid is re-quantised to that grid
    (measured on the bundled adapter and the default Q4_K_M base: q4_k_m keeps about 8%, q8_0 and f16 100%).
    """
    change = np.asarray(written, dtype=np.float64) - base
    norm = float(np.square(delta, dtype=np.float64).sum())
    return float((change * delta).sum() / norm) if norm > 0 else 1.0


def _read_lora(path: Path) -> _Lora:
    header = read_gguf_header(path, keep=lambda key: False)
    if header.get("general.type") != "adapter" or header.get("adapter.type") != "lora":
        raise ReportxError(f"{path} is not a GGUF LoRA adapter (general.type adapter, adapter.type lora)")
    if any(key.startswith("adapter.alora") for key in header.metadata):
        # an activated LoRA applies only after its invocation tokens: merged into the weights it would apply always
        raise ReportxError(f"{path} is an activated LoRA (aLoRA), which cannot be merged into the weights")
    pairs: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name in header.tensors:
        if name.endswith(".lora_a"):
            base = name[: -len(".lora_a")]
            if base + ".lora_b" not in header.tensors:
                raise ReportxError(f"{path}: {name} has no {base}.lora_b")
            pairs[base] = (_tensor_f32(header, name), _tensor_f32(header, base + ".lora_b"))
        elif not name.endswith(".lora_b"):
            raise ReportxError(f"{path}: tensor {name} is not a LoRA A/B tensor")
    if not pairs:
        raise ReportxError(f"{path} holds no LoRA tensors")
    return _Lora(path, header.architecture or "", float(header.get("adapter.lora.alpha", 0.0)), pairs)


# The merge ----------------------------------------------------------------------------------------------------------


def merge_lora_gguf(
    base_gguf: str | Path,
    adapter_gguf: str | Path,
    out: str | Path,
    quant: str = "f16",
    *,
    n_threads: int | None = None,
) -> MergeResult:
    """Merge a GGUF LoRA adapter into a base GGUF model and write one GGUF model to ``out``.

    ``quant``: ``f16`` or ``q8_0`` is the type of the merged tensors (Q8_0 needs rows that split into blocks of 32;
    a tensor whose rows do not is written f16 and listed in ``fallbacks``), every other tensor keeps the base's
    bytes; ``q4_k_m`` writes the f16 merge and re-quantises the whole file with llama.cpp
    (:func:`reportx.export.quantize.quantize_gguf`, ``n_threads`` threads). The base's metadata is copied as is,
    ``general.file_type`` included (f16 / q8_0: the untouched tensors keep the base's quantisation; q4_k_m:
    llama.cpp writes its own). ``delta_kept`` in the result says how much of the adapter's change survived the
    written type (see the module docstring: q4_k_m from a 4-bit base loses most of it).
    """
    import gguf

    started = time.perf_counter()
    if quant not in QUANTS:
        raise ReportxError(f"--quant must be one of {', '.join(QUANTS)}, got {quant!r}")
    base_path, adapter_path, out_path = Path(base_gguf), Path(adapter_gguf), Path(out)
    if out_path.resolve() in (base_path.resolve(), adapter_path.resolve()):
        raise ReportxError(f"the merged model would overwrite its own input: {out_path}")
    lora = _read_lora(adapter_path)
    base = read_gguf_header(base_path)
    _check_fits(lora, base, base_path)

    if quant == "q4_k_m":
        from reportx.export.quantize import quantize_gguf

        # the f16 merge beside the output (same file system), removed once llama.cpp has re-quantised it
        with tempfile.TemporaryDirectory(prefix=".merge-", dir=_parent(out_path)) as tmp:
            f16 = merge_lora_gguf(base_path, adapter_path, Path(tmp) / "merged-f16.gguf", "f16")
            quantized = quantize_gguf(f16.path, out_path, "q4_k_m", n_threads=n_threads)
        written = read_gguf_header(out_path, keep=lambda key: False)
        return MergeResult(
            path=out_path, quant=quant, architecture=f16.architecture, base_gguf=base_path, adapter=adapter_path,
            merged={n: gguf.GGMLQuantizationType(written.tensors[n].ggml_type).name for n in f16.merged},
            copied=f16.copied, fallbacks={n: why for n, why in quantized.fallbacks.items() if n in f16.merged},
            file_type=quantized.file_type, seconds=round(time.perf_counter() - started, 2),
            delta_kept={
                n: delta_kept(_tensor_f32(written, n), _tensor_f32(base, n), lora.delta(n)) for n in f16.merged
            },
        )

    target = gguf.GGMLQuantizationType.F16 if quant == "f16" else gguf.GGMLQuantizationType.Q8_0
    block = gguf.GGML_QUANT_SIZES[target][0]
    result = MergeResult(
        path=out_path, quant=quant, architecture=base.architecture or "", base_gguf=base_path, adapter=adapter_path,
        file_type=base.get("general.file_type"),
    )
    with atomic_gguf_writer(out_path, base.architecture or "") as writer:
        alignment = base.get("general.alignment")
        if alignment is not None:
            writer.add_custom_alignment(int(alignment))
        add_metadata(writer, {k: v for k, v in base.metadata.items() if k not in (*WRITER_KEYS, ANSWER_KEY)})
        writer.add_string(ANSWER_KEY, answer_format(adapter_path))  # the adapter's answer form travels with it
        for name, info in base.tensors.items():  # in the base's order
            if name not in lora.pairs:
                writer.add_tensor(name, tensor_bytes(base, info), raw_dtype=gguf.GGMLQuantizationType(info.ggml_type))
                result.copied += 1
                continue
            weight, delta = _tensor_f32(base, name), lora.delta(name)
            kind = target
            if info.shape[0] % block:
                kind = gguf.GGMLQuantizationType.F16
                result.fallbacks[name] = (
                    f"rows of {info.shape[0]} values do not split into {target.name} blocks of {block}: written F16"
                )
            data = gguf.quants.quantize(weight + delta, kind)
            writer.add_tensor(name, data, raw_dtype=kind if kind != gguf.GGMLQuantizationType.F16 else None)
            result.merged[name] = kind.name
            result.delta_kept[name] = delta_kept(gguf.quants.dequantize(data, kind), weight, delta)
    result.seconds = round(time.perf_counter() - started, 2)
    return result


def _check_fits(lora: _Lora, base: GGUFHeader, base_path: Path) -> None:
    """``ReportxError`` unless ``base`` (read from ``base_path``) is a model GGUF of the adapter's architecture with
    every tensor the adapter modifies, in the shape the adapter maps."""
    if base.get("general.type", "model") != "model":
        raise ReportxError(f"{base_path} is not a model GGUF (general.type {base.get('general.type')!r})")
    if lora.architecture and base.architecture != lora.architecture:
        raise ReportxError(f"the adapter is for {lora.architecture}, the base {base_path} is {base.architecture}")
    for name, (a, b) in lora.pairs.items():
        info = base.tensors.get(name)
        if info is None:
            raise ReportxError(f"the base {base_path} has no tensor {name} for the adapter to modify")
        maps = (a.shape[1], b.shape[0])
        if len(info.shape) != 2 or maps != (info.shape[0], info.shape[1]) or a.shape[0] != b.shape[1]:
            raise ReportxError(
                f"{name}: the adapter maps {a.shape[1]} -> {b.shape[0]} features (rank {a.shape[0]}/{b.shape[1]}) but "
                f"the base tensor has shape {list(info.shape)} (is this adapter for another base model?)"
            )


def _parent(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.parent


# A training run -----------------------------------------------------------------------------------------------------


def merge_run(
    run_dir: str | Path,
    out: str | Path | None = None,
    quant: str = "f16",
    ollama: bool = False,
    check: int = 0,
    *,
    base_gguf: str | Path | None = None,
    check_against: str = "auto",
    max_tokens: int = 256,
    torch_model: Any = None,
    n_threads: int | None = None,
) -> MergeResult:
    """Merge a training run's adapter into its base and write one GGUF model (``reportx export RUN_DIR --merge``).

    ``run_dir`` is a training run (``run_card.json`` + PEFT ``adapter/``) or a directory with a run card and a GGUF
    LoRA ``adapter.gguf`` (the adapter bundled with reportx). The base is ``base_gguf``, else the run card's base
    when it is a GGUF file (default model included; its sha256 is checked), else (a Hugging Face base) the model is
    merged and converted by ``reportx.export.convert.export_merged_hf``. ``out`` defaults to
    ``RUN_DIR/merged-<quant>.gguf``; ``quant`` is described in :func:`merge_lora_gguf`.

    ``ollama`` writes an Ollama ``Modelfile`` beside the GGUF (:func:`write_modelfile`). ``check > 0`` compares
    greedy answers on that many validation reports with the trained PyTorch model (``check_against="pytorch"``,
    needs the [train] extra) or with base + adapter in llama.cpp (``"adapter"``); ``"auto"`` takes the first when
    the run has its PEFT adapter. The details go to ``<out stem>.check.json`` beside the GGUF.
    """
    started = time.perf_counter()
    _check_options(quant, check, check_against)
    run_path = Path(run_dir)
    if not is_run_dir(run_path):
        raise ReportxError(f"{run_dir} is not a training run directory (no run_card.json)")
    card = load_run_card(run_path)
    peft_dir = card.adapter_path(run_path)
    has_peft = (peft_dir / ADAPTER_CONFIG).is_file()
    if not has_peft and not (run_path / "adapter.gguf").is_file():
        raise ReportxError(
            f"{run_dir} has neither a PEFT adapter ({peft_dir / ADAPTER_CONFIG}) nor an adapter.gguf to merge"
        )
    against = ("pytorch" if has_peft else "adapter") if check_against == "auto" else check_against
    if check and against == "pytorch" and not has_peft:
        raise ReportxError(
            f"{run_dir} has no PEFT adapter to load the trained PyTorch model from; check against the adapter instead"
        )
    out_path = Path(out) if out is not None else run_path / f"merged-{quant}.gguf"
    if out_path.is_dir():
        out_path = out_path / f"merged-{quant}.gguf"

    if base_gguf is None and card.base_model.kind != "gguf":
        result = _merge_hf_base(run_path, out_path, quant, has_peft)
    else:
        base_path = card.base_gguf(base_gguf)
        with tempfile.TemporaryDirectory(prefix=".merge-", dir=_parent(out_path)) as tmp:
            if has_peft:
                # float32: the merge adds the exact delta; rounding A and B to f16 first would only lose precision
                adapter = export_lora(run_path, Path(tmp) / "adapter-f32.gguf", base=base_path, dtype="f32").path
            else:
                adapter = run_path / "adapter.gguf"
            result = merge_lora_gguf(base_path, adapter, out_path, quant, n_threads=n_threads)
            if has_peft:
                result.adapter = peft_dir
            if check and against == "adapter":
                result.check = compare_ggufs(
                    run_path, out_path, base_path, check, reference_adapter=adapter, max_tokens=max_tokens,
                    n_threads=n_threads,
                )
    if ollama:
        result.modelfile = write_modelfile(result.path, schema=card.schema_spec)
    if check and against == "pytorch":
        result.check = check_gguf(
            run_path, result.path, check, max_tokens=max_tokens, torch_model=torch_model, n_threads=n_threads
        )
    if result.check is not None:
        result.check_file = result.path.with_name(result.path.stem + ".check.json")
        details = json.dumps(result.check.to_dict(), indent=2, ensure_ascii=False)
        result.check_file.write_text(details + "\n", encoding="utf-8")
    result.seconds = round(time.perf_counter() - started, 2)
    return result


def _check_options(quant: str, check: int, check_against: str) -> None:
    if quant not in QUANTS:
        raise ReportxError(f"--quant must be one of {', '.join(QUANTS)}, got {quant!r}")
    if check < 0:
        raise ReportxError(f"--check must be a number of reports (0 for none), got {check}")
    if check_against not in CHECK_AGAINST:
        raise ReportxError(f"--check-against must be one of {', '.join(CHECK_AGAINST)}, got {check_against!r}")


def _merge_hf_base(run_path: Path, out_path: Path, quant: str, has_peft: bool) -> MergeResult:
    """A run trained on a Hugging Face base: merged in PyTorch and converted to GGUF by the converter."""
    if not has_peft:
        raise ReportxError(f"{run_path}: merging into a Hugging Face base needs the run's PEFT adapter")
    try:
        from reportx.export.convert import export_merged_hf
    except ImportError:
        raise ReportxError(
            "the run's base is a Hugging Face model, not a GGUF file: merged export from a Hugging Face base needs the "
            "HF -> GGUF converter (reportx.export.convert), which this installation lacks; pass --base PATH.gguf to "
            "merge into a GGUF of the same base instead"
        ) from None
    path = Path(export_merged_hf(run_path, out_path, quant))
    header = read_gguf_header(path, keep=lambda key: False)
    return MergeResult(
        path=path, quant=quant, architecture=header.architecture or "", base_gguf=None, adapter=run_path / "adapter",
        file_type=header.get("general.file_type"),
    )


# Ollama ---------------------------------------------------------------------------------------------------------------


def eog_tokens(model_gguf: str | Path) -> dict[int, str]:
    """The end-of-generation tokens llama.cpp finds in a model's vocabulary (EOS, EOT, and tokens such as
    ``<end_of_turn>`` that it recognises by their text, see :meth:`reportx.llamacpp.LlamaModel.is_end`), id -> text.
    Loads the vocabulary only."""
    from reportx.llamacpp import LlamaModel, LoadError

    try:
        model = LlamaModel.load(model_gguf, vocab_only=True, verbose=False)
    except LoadError as exc:
        raise ReportxError(f"llama.cpp cannot read the vocabulary of {model_gguf}: {exc} ({exc.log})") from None
    try:
        # special=True: a control token's text ("<eos>"), not the b"" it writes in an answer
        return {
            token: model.piece(token, special=True).decode("utf-8", errors="replace")
            for token in sorted(model.end_of_generation())
        }
    finally:
        model.close()


def _extract_default(name: str) -> Any:
    """A default of ``reportx extract`` (one definition: the extraction options)."""
    from reportx.extract.config import ExtractConfig

    return ExtractConfig.model_fields[name].default


def write_modelfile(model_gguf: str | Path, *, schema: str | None = None, num_ctx: int | None = None) -> Path:
    """Write an Ollama ``Modelfile`` beside ``model_gguf`` (``ollama create NAME -f Modelfile``) and return it.

    - ``FROM ./<file>.gguf``: relative, so the two files move together;
    - ``TEMPLATE``: reportx's fine-tuned prompt (:func:`reportx.prompts.finetuned_prompt` for ``schema``) with the
      report as ``{{ .Prompt }}``: the adapter was trained on that plain completion, not on a chat format (the
      default base GGUF has no chat template, and Gemma's turn markup would be a prompt the model never saw);
    - ``temperature 0``: greedy decoding, as reportx extract decodes: one exact record, the same every time;
    - ``stop``: the model's end-of-generation tokens as llama.cpp finds them in the GGUF (for Gemma ``<eos>`` and
      ``<end_of_turn>``), so generation ends with the JSON record;
    - ``num_ctx`` / ``num_predict``: reportx extract's context and answer-length defaults (4096 / 256), which hold
      a long report plus the prompt and a complete record; ``num_ctx`` never above the model's trained context.
    """
    from reportx.prompts import finetuned_prompt
    from reportx.schema import load_schema

    model_path = Path(model_gguf)
    header = read_gguf_header(model_path, keep=lambda key: False)
    trained_ctx = header.arch_get("context_length")
    ctx = int(num_ctx or _extract_default("n_ctx"))
    if isinstance(trained_ctx, int) and trained_ctx > 0:
        ctx = min(ctx, trained_ctx)
    template = finetuned_prompt("{{ .Prompt }}", load_schema(schema))
    if '"""' in template or template.count("{{") != 1:
        raise ReportxError("the schema's prompt cannot be written as an Ollama template (it contains \"\"\" or {{)")
    stops = sorted(set(eog_tokens(model_path).values()) - {""})
    lines = [
        "# Ollama Modelfile written by reportx export --merge --ollama: ollama create NAME -f Modelfile",
        "# The model was fine-tuned on reportx's plain completion prompt (below); the report is {{ .Prompt }}.",
        f"FROM ./{model_path.name}",
        f'TEMPLATE """{template}"""',
        "# greedy decoding, as reportx extract: one exact JSON record, the same every time",
        "PARAMETER temperature 0",
        "# reportx extract's defaults: context for a long report + prompt + answer, and the answer length limit",
        f"PARAMETER num_ctx {ctx}",
        f"PARAMETER num_predict {int(_extract_default('max_tokens'))}",
        "# the model's end-of-generation tokens (llama.cpp's set for this vocabulary)",
        *(f"PARAMETER stop {json.dumps(stop, ensure_ascii=False)}" for stop in stops),
    ]
    path = model_path.with_name("Modelfile")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
