"""Errors that the CLI turns into a one-line message and exit code 2 (usage, input or configuration)."""


class ReportxError(Exception):
    """A problem the user can fix: a missing file, a bad schema path, an invalid option value."""


#: What each optional extra installs, by the modules the code imports from it.
EXTRAS: dict[str, tuple[str, ...]] = {
    "train": ("torch", "transformers", "peft", "trl", "datasets", "accelerate"),
    "eval": ("matplotlib",),
}


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
            f"pip install 'reportx[{extra}]' (or make install-train in a checkout)"
        )
