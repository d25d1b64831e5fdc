"""The ``reportx`` CLI with a stand-in model for ``--workers`` tests: ``python fake_workers.py extract ...``.

:class:`WorkerFake` is :class:`fake_extract.FakeExtractor` (a report's text is its record; ``REPORTX_FAKE_GATE``
holds each worker's second report until that file exists) that also:

* ``REPORTX_FAKE_DIE=TEXT``: ends its process abruptly (``os._exit``, as a crash or a kill would) on the report
  whose text contains TEXT;
* ``REPORTX_FAKE_PIDS=DIR``: writes a file named after its process id into DIR when it is made (one per worker).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fake_extract import FakeExtractor, FakeSetup  # noqa: E402


class WorkerFake(FakeExtractor):
    def __init__(self, schema=None, **settings) -> None:
        super().__init__(schema=schema, **settings)
        pids = os.environ.get("REPORTX_FAKE_PIDS")
        if pids:
            (Path(pids) / str(os.getpid())).touch()

    def extract_item(self, item):
        die = os.environ.get("REPORTX_FAKE_DIE")
        if die and item.text is not None and die in item.text:
            time.sleep(0.5)  # the results made before are sent (a report takes seconds with a real model)
            os._exit(3)
        return super().extract_item(item)


if __name__ == "__main__":
    import signal

    import reportx.extract.extractor as extractor_module
    from reportx.cli import main

    # Ctrl-C as a terminal delivers it: a test run started in the background (`make test &`, nohup) ignores SIGINT,
    # every process it starts inherits that, and Python keeps an inherited SIGINT ignored (no KeyboardInterrupt).
    signal.signal(signal.SIGINT, signal.default_int_handler)

    extractor_module.Extractor = WorkerFake  # the workers make theirs from there
    extractor_module.resolve_setup = lambda *args, **kwargs: FakeSetup()  # and this, to check resume
    sys.argv[0] = "reportx"
    main()
