"""Errors that the CLI turns into a one-line message and exit code 2 (usage, input or configuration)."""


class ReportxError(Exception):
    """A problem the user can fix: a missing file, a bad schema path, an invalid option value."""


#: What each optional extra installs, by the modules the code imports from it.
EXTRAS: dict[str, tuple[str, ...]] = {
    "train": ("torch", "transformers", "peft", "trl", "datasets", "accelerate"),
    "eval": ("matplotlib",),
    "pandas": ("pandas",),
    "ray": ("ray", "pyarrow"),
}

#: The Makefile target that installs an extra in a checkout, where there is one.
MAKE_TARGETS: dict[str, str] = {"train": "make install-train", "ray": "make install-ray"}


def missing_modules(extra: str) -> list[str]:
    """The modules of ``extra`` that cannot be imported here (found without importing them)."""
    from importlib.util import find_spec

    return [name for name in EXTRAS[extra] if find_spec(name) is None]


def require_extra(extra: str, purpose: str) -> None:
    """Raise a one-line :class:`ReportxError` naming the install command when ``extra`` is not installed."""
    missing = missing_modules(extra)
    if missing:
        raise ReportxError(
            f"{purpose} needs the '{extra}' extra ({', '.join(missing)} not installed): "
            f"pip install 'reportx[{extra}]'"
            + (f" (or {MAKE_TARGETS[extra]} in a checkout)" if extra in MAKE_TARGETS else "")
        )
