"""``python -m reportx`` is the ``reportx`` command."""

from reportx.cli import main

main()
