"""Build the llama-cpp-python wheel reportx runs on: pip's source release with llamafile's sgemm taken for every
matrix product, one token included.

Why a patched build: llamafile's sgemm (tinyBLAS) sums a product's terms in one order whatever the batch, but
llama.cpp takes it only for 2 tokens or more and falls back to ggml's per-row dot product (another order) for one
token. A token's logits then depend on the batch it is decoded in, and batched extraction no longer gives the
records of one report at a time (docs/extraction-speed.md). Dropping that one check makes every product of a
Q5_0, Q8_0 or F16 weight go through sgemm: batch-invariant, and faster on batches than building without sgemm
(``-DGGML_LLAMAFILE=OFF``, the other invariant build). The wheel's version carries the local label
:data:`LABEL` (``0.3.36+reportx.sgemm1``), which :func:`reportx.llamacpp.batch_invariant` looks for; it still
satisfies ``llama-cpp-python==0.3.36``. Measured on x86 (AVX2); on POWER (MMA) llama.cpp's sgemm needs several
tokens, the check stays, and such a build is labelled but not batch-invariant.

Usage: ``python tools/build_llama_cpp.py OUT_DIR llama-cpp-python==0.3.36`` (``make install`` runs it once per
machine; about 7 minutes on 2 cores). ``CMAKE_ARGS`` from the environment reach the build as usual.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

#: the local version label of the patched wheel
LABEL = "reportx.sgemm1"
SGEMM = Path("vendor/llama.cpp/ggml/src/ggml-cpu/llamafile/sgemm.cpp")
#: llamafile_sgemm's early return for one token ("only enable sgemm for prompt processing"); POWER's MMA build
#: keeps it, as upstream does, since its kernels need several tokens
ONE_TOKEN_CHECK = "#if !defined(__MMA__)\n    if (n < 2)\n        return false;\n#endif\n"
SGEMM_FOR_ONE_TOKEN = "#if defined(__MMA__)\n    if (n < 2)\n        return false;\n#endif\n"
VERSION = re.compile(r'^__version__ = "([^"+]+)"$', re.MULTILINE)


class PatchError(RuntimeError):
    """The source release is not the one the patch was written for."""


def patch_source(root: Path) -> str:
    """Patch an unpacked llama-cpp-python source release in place: sgemm for one token too, and the version's local
    label. Returns the new version. Raises :class:`PatchError` when either edit does not match exactly once."""
    sgemm, init = root / SGEMM, root / "llama_cpp" / "__init__.py"
    text = sgemm.read_text(encoding="utf-8") if sgemm.is_file() else ""
    if text.count(ONE_TOKEN_CHECK) != 1:
        raise PatchError(f"{sgemm}: llamafile_sgemm's one-token check not found once; this release needs a new patch")
    source = init.read_text(encoding="utf-8") if init.is_file() else ""
    found = VERSION.findall(source)
    if len(found) != 1:
        raise PatchError(f"{init}: no single __version__ line")
    version = f"{found[0]}+{LABEL}"
    sgemm.write_text(text.replace(ONE_TOKEN_CHECK, SGEMM_FOR_ONE_TOKEN), encoding="utf-8")
    init.write_text(VERSION.sub(f'__version__ = "{version}"', source), encoding="utf-8")
    return version


def build(out: Path, requirement: str) -> Path:
    """Download ``requirement``'s source release, patch it and build its wheel into ``out``; returns the wheel."""
    pip = [sys.executable, "-m", "pip"]
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([*pip, "download", "-q", "--no-deps", "--no-binary", ":all:", "-d", tmp, requirement],
                       check=True)
        (archive,) = Path(tmp).glob("*.tar.gz")
        with tarfile.open(archive) as tar:
            tar.extractall(tmp, filter="data") if hasattr(tarfile, "data_filter") else tar.extractall(tmp)
        (root,) = (p for p in Path(tmp).iterdir() if p.is_dir())
        version = patch_source(root)
        print(f"building llama-cpp-python {version} (sgemm for every product; about 7 minutes on 2 cores)")
        env = {**os.environ, "CMAKE_BUILD_PARALLEL_LEVEL": os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL",
                                                                         str(os.cpu_count() or 1))}
        out.mkdir(parents=True, exist_ok=True)
        subprocess.run([*pip, "wheel", "-q", "--no-deps", "--no-cache-dir", "-w", str(out), str(root)],
                       check=True, env=env)
    (wheel,) = out.glob(f"llama_cpp_python-{version}-*.whl")
    return wheel


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="folder for the wheel")
    parser.add_argument("requirement", help="e.g. llama-cpp-python==0.3.36")
    args = parser.parse_args()
    try:
        print(build(args.out, args.requirement))
    except PatchError as exc:
        sys.exit(f"error: {exc}")


if __name__ == "__main__":
    main()
