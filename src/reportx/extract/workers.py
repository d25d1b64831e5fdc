"""``reportx extract --workers N``: N worker processes, each with its own model, extracting one batch's reports.

Processes instead of threads: on 2 cores two processes with one thread each measured as fast as one process with
two threads, for twice the memory (docs/extraction-speed.md, "Worker processes"). Here the batch job's parent
process (:mod:`reportx.extract.batch`) keeps everything but the extraction -- reading the inputs, resume, the output and errors files, progress -- and
:class:`WorkerPool` runs the extraction:

* Worker ``w`` of ``N`` is forked with its share of the inputs already in memory: reports ``w``, ``w + N``,
  ``w + 2N``, ... (nothing is sent to it). It loads its own model (memory x N; ``threads`` per worker) and runs
  :meth:`Extractor.extract_many` over its whole share, so that its ``--batch`` stays full, sending each result
  back through a pipe of its own as soon as it is made.
* The parent reads report ``i``'s result from worker ``i % N``'s pipe, so results come out in input order,
  each exactly once, and the batch job writes each before it reads the next: a run stopped anywhere leaves a
  prefix of the inputs in the output, which a re-run resumes.
* A worker that dies (killed, out of memory, a crash in llama.cpp) closes its pipe: the parent notices at once
  (or within a second by its process state), ends the other workers and raises one :class:`ReportxError` line;
  the records written before are kept. A worker that fails to load the model sends that error line instead.
* Ctrl-C is the parent's to handle (the workers ignore SIGINT) and ends the workers; a parent that dies any other
  way (SIGTERM, SIGKILL) takes its workers with it (Linux's parent-death signal, else within a second).

The workers are forked, not spawned: the schema (a user's Pydantic class too) and the inputs need no pickling,
and a worker starts in a fraction of a second. So the parent must not have run llama.cpp before: its OpenMP
thread pool does not survive a fork (a forked worker would hang in its first decode). :func:`check_workers`
refuses an already loaded extractor; the batch job loads no model before this point.

Records equal those of ``--workers 1``, whatever ``--batch``: a worker's batches hold other reports than one
process's would, but llama.cpp runs batch-invariant (:mod:`reportx.llamacpp`), so a record never depends on its
neighbours (tests/extract/test_workers.py, tests/extract/test_batched_model.py).
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from multiprocessing.connection import Connection
from typing import Any

from reportx.errors import ReportxError
from reportx.extract.config import ExtractConfig
from reportx.extract.extractor import ExtractionResult
from reportx.extract.inputs import InputItem

#: Most workers per CPU (:func:`check_workers`): each holds a model of its own, and past a few per core they
#: only take turns on the same cores.
WORKERS_PER_CPU = 4
#: How often the parent, waiting for a result, checks that the worker is still alive (seconds).
POLL_SECONDS = 1.0
#: How long a worker that has sent everything gets to exit before it is terminated (seconds).
EXIT_SECONDS = 5.0

Message = tuple[str, Any]  # ("ready", notices) | ("result", ExtractionResult) | ("error", line)


#: Most worker processes ``--workers`` picks by itself (:func:`auto_workers`), as :func:`batch_threads` caps threads.
AUTO_MAX_WORKERS = 8
#: A worker's memory with the default model at ``--batch 16``, rounded up from the measured peak RSS (0.86 GB,
#: docs/extraction-speed.md); a model given with ``--model`` adds its file's size.
WORKER_MEMORY_BYTES = 1 << 30


def available_memory() -> int | None:
    """Bytes of memory available to new processes (Linux's MemAvailable), or None where unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def auto_workers(config: ExtractConfig, reports: int) -> int:
    """``--workers`` when it is not given: one process while the reports fit in one batch (or with ``--batch 1``,
    one at a time); past that, one single-threaded worker per CPU (``--threads`` CPUs each when given), no more
    than the batches to fill, :data:`AUTO_MAX_WORKERS`, or half the available memory allows. One process also
    where it has run llama.cpp already (a Python program extracting twice), which a fork would hang.

    Why processes: with a 270M model a llama.cpp thread has too little work per step to share it well, and two
    processes of one thread each outran one process of two threads, records unchanged (2-core AMD EPYC, 200 test
    reports at --batch 16: 1.03 against 0.87 reports/s; docs/extraction-speed.md)."""
    if config.workers is not None:
        return config.workers
    from reportx.llamacpp import ran_in_this_process

    if config.batch <= 1 or reports <= config.batch or "fork" not in multiprocessing.get_all_start_methods() \
            or ran_in_this_process():
        return 1
    from reportx.extract.engine import available_cpus

    n = min(available_cpus() // (config.threads or 1), AUTO_MAX_WORKERS, -(-reports // config.batch))
    memory = available_memory()
    if memory is not None:
        per_worker = WORKER_MEMORY_BYTES + (_file_size(config.model) if config.model else 0)
        n = min(n, memory // 2 // per_worker)
    return max(1, n)


def _file_size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def worker_threads(workers: int) -> int:
    """llama.cpp threads per worker when ``--threads`` is not given: the CPUs shared out, at least 1, at most 8."""
    from reportx.extract.engine import available_cpus

    return max(1, min(8, available_cpus() // max(1, workers)))


def check_workers(config: ExtractConfig, *, extractor: Any = None, runner: Any = None) -> None:
    """Refuse, in one :class:`ReportxError` line, ``workers`` > 1 where it cannot run: more than
    :data:`WORKERS_PER_CPU` per CPU, with another runner (Ray's actors), with an already loaded extractor (its
    model cannot be shared, and a fork after llama.cpp ran would hang), or without the fork start method."""
    if config.workers is None or config.workers <= 1:
        return
    from reportx.extract.engine import available_cpus

    cpus = available_cpus()
    if config.workers > WORKERS_PER_CPU * cpus:
        raise ReportxError(f"--workers {config.workers} is more than {WORKERS_PER_CPU} per CPU ({cpus} here), each "
                           f"loading its own model: use at most {WORKERS_PER_CPU * cpus}")
    if runner is not None:
        raise ReportxError("--workers does not combine with --ray: Ray runs one model per actor (use --actors)")
    if extractor is not None:
        raise ReportxError("workers > 1 load a model in each worker process: pass no extractor, or workers=1")
    if "fork" not in multiprocessing.get_all_start_methods():
        raise ReportxError("--workers needs the fork start method (Linux, macOS): use --workers 1 here")


class WorkerPool:
    """Extract ``items`` in ``config.workers`` forked processes (at most one per item); :meth:`results` yields
    them in input order. A context manager: leaving it ends every worker, whatever happened.

    ``config.threads``: llama.cpp threads per worker (None: :func:`worker_threads`). ``notices``: called once
    with the first worker's notices (few-shot mode chosen, and the like), before its first result.
    """

    def __init__(self, config: ExtractConfig, schema: Any, items: Sequence[InputItem],
                 notices: Callable[[list[str]], None] | None = None) -> None:
        self.items = list(items)
        self.n = max(1, min(auto_workers(config, len(self.items)), len(self.items)))
        threads = config.threads or worker_threads(self.n)
        self.config = config.model_copy(update={"threads": threads, "workers": 1})
        self.schema = schema
        self.notices = notices
        self._procs: list[Any] = []
        self._readers: list[Connection] = []
        self._received = 0

    def __enter__(self) -> WorkerPool:
        self.start()
        return self

    def __exit__(self, *_exc: Any) -> None:
        self.close()

    def start(self) -> None:
        """Fork the workers, each with its share of the items (before the parent starts any thread of its own)."""
        context = multiprocessing.get_context("fork")
        pipes = [context.Pipe(duplex=False) for _ in range(self.n)]
        self._readers = [reader for reader, _ in pipes]
        parent = os.getpid()
        try:
            for w in range(self.n):
                share = self.items[w::self.n]
                proc = context.Process(target=_work, args=(w, self.config, self.schema, share, pipes, parent),
                                       name=f"reportx-worker-{w + 1}", daemon=True)
                self._procs.append(proc)
                proc.start()
        except BaseException:  # Ctrl-C between two forks, or no more processes: end those started
            self.close()
            raise
        finally:
            for _, writer in pipes:
                writer.close()  # the workers hold the write ends: a dead worker's pipe reads as closed

    def results(self) -> Iterator[ExtractionResult]:
        """Every item's result, in input order: item ``i`` from worker ``i % n``."""
        if not self._procs:
            self.start()
        for i in range(len(self.items)):
            yield self._receive(i % self.n)

    def _receive(self, w: int) -> ExtractionResult:
        """Worker ``w``'s next result; its notices (worker 1's) on the way; ReportxError when it failed or died."""
        reader, proc = self._readers[w], self._procs[w]
        while True:
            if not reader.poll(POLL_SECONDS):
                if proc.is_alive():
                    continue
                if not reader.poll(0):  # gone, its pipe neither holding data nor closed (another process has it)
                    raise self._died(w)
            try:
                tag, payload = reader.recv()
            except (EOFError, OSError):  # closed: the worker is gone (mid-message too: "end of file during message")
                raise self._died(w) from None
            if tag == "result":
                self._received += 1
                return payload
            if tag == "error":
                raise ReportxError(payload)
            if w == 0 and self.notices is not None:
                self.notices(payload)

    def _died(self, w: int) -> ReportxError:
        proc = self._procs[w]
        proc.join(EXIT_SECONDS)
        code = proc.exitcode
        if code is None:
            how = "closed its pipe"
        elif code < 0:
            name = signal.Signals(-code).name if -code in signal.valid_signals() else f"signal {-code}"
            how = f"was killed by {name}" + (" (out of memory? each worker holds a model)" if -code == signal.SIGKILL
                                             else "")
        else:
            how = f"exited with code {code}"
        return ReportxError(f"extraction worker {w + 1} of {self.n} (pid {proc.pid}) {how} before its reports were "
                            "done; the records written so far are kept: run the same command again to resume")

    def close(self) -> None:
        """End the workers: after every result, each gets :data:`EXIT_SECONDS` to exit; then SIGTERM, SIGKILL."""
        started = [proc for proc in self._procs if proc.pid is not None]
        if self._received == len(self.items):
            for proc in started:
                proc.join(EXIT_SECONDS)
        for proc in started:
            if proc.is_alive():
                proc.terminate()
        for proc in started:
            proc.join(EXIT_SECONDS)
            if proc.is_alive():
                proc.kill()
                proc.join(EXIT_SECONDS)
        for reader in self._readers:
            reader.close()
        self._procs, self._readers = [], []


# In the worker -----------------------------------------------------------------------------------------------


def _work(w: int, config: ExtractConfig, schema: Any, items: list[InputItem],
          pipes: list[tuple[Connection, Connection]], parent: int) -> None:
    """Worker ``w`` (a forked process): load the model, extract ``items`` in order, send each result, exit."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole process group: the parent ends us
    _die_with_parent(parent)
    for i, (reader, writer) in enumerate(pipes):
        reader.close()
        if i != w:
            writer.close()
    os.dup2(2, 1)  # stdout may be the parent's data stream: whatever llama.cpp prints goes to stderr
    outbox = _Outbox(pipes[w][1], parent)
    try:
        from reportx.extract.extractor import Extractor

        extractor = Extractor.from_config(config, schema=schema)
        outbox.put(("ready", list(extractor.notices)))
        for result in extractor.extract_many(items):
            outbox.put(("result", result))
    except ReportxError as exc:
        outbox.put(("error", str(exc)))
    except Exception as exc:  # noqa: BLE001 - anything else is still one line in the parent, not a traceback here
        outbox.put(("error", f"extraction worker {w + 1}: {type(exc).__name__}: {exc}"))
    outbox.close()


def _die_with_parent(parent: int) -> None:
    """Ask Linux to SIGTERM this process when its parent dies (the parent's own SIGTERM or SIGKILL included)."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):  # pragma: no cover - a libc without prctl: _Outbox's check remains
            pass
    if os.getppid() != parent:  # the parent died before the line above
        os._exit(1)


class _Outbox:
    """Sends a worker's messages from a thread of its own, so that extraction never waits for the parent to read
    (the parent reads the workers in turn); the thread also ends the worker if the parent is gone."""

    def __init__(self, conn: Connection, parent: int) -> None:
        self._queue: queue.SimpleQueue[Message | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._send_all, args=(conn, parent), daemon=True)
        self._thread.start()

    def put(self, message: Message) -> None:
        self._queue.put(message)

    def close(self) -> None:
        """Send what is queued, then close the pipe."""
        self._queue.put(None)
        self._thread.join()

    def _send_all(self, conn: Connection, parent: int) -> None:
        while True:
            try:
                message = self._queue.get(timeout=POLL_SECONDS)
            except queue.Empty:
                if os.getppid() != parent:  # no parent-death signal on this system, and the parent is gone
                    os._exit(1)
                continue
            if message is None:
                conn.close()
                return
            try:
                conn.send(message)
            except OSError:  # the parent closed its end (it stopped or died): nobody wants the rest
                os._exit(1)
            except Exception as exc:  # noqa: BLE001 - a result that does not pickle: say so rather than vanish
                conn.send(("error", f"extraction worker: cannot send a result: {type(exc).__name__}: {exc}"))
