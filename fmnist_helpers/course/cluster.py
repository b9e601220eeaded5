"""The engine that spreads notebook executions over Dask workers (``sweep`` and ``grade`` use it).

By default the command starts a ``LocalCluster`` of ``jobs`` single-threaded worker processes on
this machine and closes it at the end; with a scheduler address (``--scheduler tcp://HOST:8786`` or
``$DASK_SCHEDULER_ADDRESS``) it uses that cluster, for example every classroom machine running
``dask worker HOST:8786``. Before any task runs, each worker's Python, torch and torchvision are
compared with the client's and a worker that differs is refused (no task goes to it). Each task runs
``run_notebook`` on its worker (``worker.run_task``) and returns the executed notebook and outputs
as bytes; ``Engine.run`` hands each result over as it arrives, so a caller can save it at once.

A worker that dies mid-task has its task run once more on another worker (the local cluster's
scheduler is set so; a scheduler of your own decides this itself: its ``allowed-failures``), then
the task is reported failed and the others go on. Ctrl-C cancels what has not finished.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import signal
import tempfile
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import cloudpickle
import dask
from distributed import Client, Future, LocalCluster, wait
from distributed.scheduler import KilledWorker

from ..parameters import parameter
from ..progress import tqdm
from . import worker as worker_module
from .catalog import CourseError
from .execute import NotebookResult, Status
from .options import DEFAULT_THREADS, ClusterOptions
from .scratch import remove_orphaned_scratch

RETRIES_AFTER_WORKER_DEATH = 1
"""How often the local cluster re-runs a task whose worker died before reporting it failed."""

CONNECT_TIMEOUT_S = 20.0
"""How long to wait for a scheduler to answer, and for its first worker to join."""


@dataclass
class NotebookTask:
    """One notebook execution to send to a worker.

    ``label`` names it in messages (``03-lr=0.01``, ``alice/04_training``); ``source`` is the file
    to execute, sent as bytes (``content``, when given, is sent instead under its name: a cleaned
    copy, say); ``parameters`` are the values the notebook gets, ``data_root`` among them;
    ``inputs`` are parameters naming folders on this machine, sent along and renamed on the
    worker (``input_folders``). Nothing here is ever modified.
    """

    label: str
    source: Path
    parameters: dict[str, Any]
    inputs: dict[str, Path] = field(default_factory=dict)
    timeout: float | None = None  # seconds for the whole notebook
    allow_errors: bool = False
    content: bytes | None = None
    grading: dict[str, Any] | None = None  # a submission to grade: see grading_task.grade_notebook


@dataclass
class TaskOutcome:
    """What came back from one task: the notebook's result, where it ran, its output files, and
    whether the notebook was executed at all (False: the worker could not run it, or died)."""

    result: NotebookResult
    worker: str = ""
    host: str = ""
    files: dict[str, bytes] = field(default_factory=dict)
    left_out: list[str] = field(default_factory=list)  # output files too large to send back
    executed: bool = True
    checks: list[dict[str, Any]] | None = None  # a graded submission's checks, judged on the worker
    sandbox: str = ""  # a graded submission's sandbox: "on", or why it was off

    def write_files(self, folder: Path) -> None:
        """Write the returned files (the executed notebook, ``metrics.json``, ...) under ``folder``."""
        for relative, content in self.files.items():
            parts = PurePosixPath(relative).parts
            if PurePosixPath(relative).is_absolute() or ".." in parts:
                continue  # never write outside the folder
            target = folder.joinpath(*parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)


def input_folders(parameters: Mapping[str, Any]) -> dict[str, Path]:
    """The folders on this machine a notebook reads through ``parameters`` (05's ``train_dir``): each
    folder parameter the runner does not set (``Parameter.is_input``) whose value names a folder
    here. They travel with the task to the worker, which has no shared filesystem."""
    return {name: Path(value) for name, value in parameters.items()
            if parameter(name).is_input and value and Path(value).is_dir()}


class _ByValue:
    """A function of ``worker.py`` pickled with its code (cloudpickle), not as an import: a worker or
    scheduler without the course installed can still unpickle and run it."""

    def __init__(self, function: Callable[..., Any]) -> None:
        self.function = function

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.function(*args, **kwargs)

    def __reduce__(self) -> tuple[Any, ...]:
        cloudpickle.register_pickle_by_value(worker_module)
        try:
            return cloudpickle.loads, (cloudpickle.dumps(self.function),)
        finally:
            cloudpickle.unregister_pickle_by_value(worker_module)


def scheduler_address(option: str | None) -> str | None:
    """The scheduler to use: ``option``, else ``$DASK_SCHEDULER_ADDRESS`` (Dask's own setting),
    else None (a local cluster)."""
    return option or dask.config.get("scheduler-address", default=None) or None


def _start_local_cluster(jobs: int, folder: str) -> LocalCluster:
    previous = signal.getsignal(signal.SIGINT)
    # Worker processes started while SIGINT is ignored keep ignoring it: Ctrl-C in a terminal reaches
    # the whole process group, and the command, not each worker, decides what happens then.
    with contextlib.suppress(ValueError):  # not the main thread: nothing to do
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with dask.config.set({"distributed.scheduler.allowed-failures": RETRIES_AFTER_WORKER_DEATH}):
            return LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True,
                                memory_limit=0, dashboard_address="127.0.0.1:0",
                                silence_logs=logging.ERROR, local_directory=folder)
    finally:
        with contextlib.suppress(ValueError, TypeError):
            signal.signal(signal.SIGINT, previous)


def _connect(address: str) -> Client:
    try:
        client = Client(address, timeout=CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError, ValueError) as error:
        raise CourseError(f"--scheduler {address}: no Dask scheduler answered ({error}); start one "
                          "with `dask scheduler`, or leave --scheduler out for a local cluster") from None
    try:
        client.wait_for_workers(1, timeout=CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError) as error:
        client.close()
        raise CourseError(f"--scheduler {address}: the scheduler has no workers after "
                          f"{CONNECT_TIMEOUT_S:.0f} s ({error}); start `dask worker {address}` on "
                          "the machines that should run the notebooks") from None
    return client


@contextlib.contextmanager
def open_client(options: ClusterOptions,
                echo: Callable[[str], None] = print) -> Iterator[Client]:
    """A Dask client: to the scheduler at ``options.scheduler`` (see ``scheduler_address``), or to a
    local cluster of ``options.jobs`` single-threaded worker processes started here and closed on
    leaving. ``echo`` receives the dashboard's address."""
    jobs = options.check().jobs
    address = scheduler_address(options.scheduler)
    if address is not None:
        client = _connect(address)
        try:
            workers = len(client.scheduler_info(n_workers=-1)["workers"])
            echo(f"Dask cluster at {address}: {workers} workers; dashboard: {client.dashboard_link}")
            yield client
        finally:
            client.close()
        return
    with tempfile.TemporaryDirectory(prefix="fmnist-dask-") as folder:
        cluster = _start_local_cluster(jobs, folder)
        try:
            client = Client(cluster)
            try:
                note = "" if importlib.util.find_spec("bokeh") else " (install bokeh to see its pages)"
                echo(f"local Dask cluster: {jobs} worker processes; dashboard: "
                     f"{client.dashboard_link}{note}")
                yield client
            finally:
                client.close()
        finally:
            cluster.close()
            remove_orphaned_scratch()  # what workers killed on the spot left in the temp folder


def admit_workers(client: Client, echo: Callable[[str], None] = print) -> list[str] | None:
    """Compare every worker's Python, torch and torchvision with this process's; refuse those that
    differ. Returns the admitted workers' addresses, or None when every worker is admitted (then
    workers that join later are used too). ``CourseError`` when no worker is left."""
    ours = worker_module.environment_versions()
    found: dict[str, dict[str, Any]] = {}
    probe = _ByValue(worker_module.environment_versions)
    for address, versions in client.run(probe, on_error="return").items():
        found[address] = versions if isinstance(versions, dict) else {"error": str(versions)}
    refused = {}
    for address, versions in found.items():
        if "error" in versions:  # e.g. another Python, which cannot load the probe's code
            refused[address] = f"could not report its versions ({versions['error']})"
            continue
        differ = [f"{name} {versions.get(name)}" for name in ours if versions.get(name) != ours[name]]
        if differ:
            refused[address] = ", ".join(differ)
    if not refused:
        return None
    mine = ", ".join(f"{name} {version}" for name, version in ours.items())
    for address, differ in refused.items():
        echo(f"refused worker {address}: {differ} (this machine has {mine})")
    admitted = sorted(set(found) - set(refused))
    if not admitted:
        raise CourseError(f"every worker was refused: their Python, torch or torchvision differ from "
                          f"this machine's ({mine}); install the course's requirements.txt on them")
    return admitted


def _allowed_failures(client: Client) -> int | None:
    try:
        return client.run_on_scheduler(_ByValue(worker_module.scheduler_allowed_failures))
    except Exception:  # an old or locked-down scheduler: the message just says less
        return None


def task_spec(task: NotebookTask, threads: int | None, versions: Mapping[str, Any]) -> dict[str, Any]:
    """The plain dict ``worker.run_task`` receives for ``task`` (files read here, as bytes)."""
    inputs = {name: {p.relative_to(folder).as_posix(): p.read_bytes()
                     for p in sorted(folder.rglob("*")) if p.is_file()}
              for name, folder in task.inputs.items()}
    source = task.content if task.content is not None else task.source.read_bytes()
    return {"notebook": task.source.name, "source": source,
            "parameters": dict(task.parameters), "inputs": inputs,
            "threads": threads, "timeout": task.timeout, "allow_errors": task.allow_errors,
            "versions": dict(versions), "grading": task.grading}


def outcome_from_answer(name: str, answer: Mapping[str, Any]) -> TaskOutcome:
    """The ``TaskOutcome`` for the dict ``worker.run_task`` returned for notebook ``name``."""
    result = NotebookResult(name, status=answer["status"], seconds=answer["seconds"],
                            error=answer["error"], cell=answer["cell"], metrics=dict(answer["metrics"]))
    return TaskOutcome(result, answer["worker"], answer["host"], dict(answer["files"]),
                       list(answer["left_out"]), bool(answer["executed"]), answer.get("checks"),
                       answer.get("sandbox", ""))


def outcome_from_error(name: str, error: BaseException, allowed_failures: int | None) -> TaskOutcome:
    """A failed ``TaskOutcome`` for a task that raised instead of answering (its worker died, ...)."""
    if isinstance(error, KilledWorker):
        runs = "" if allowed_failures is None else f" ({allowed_failures + 1} tries)"
        worker = error.last_worker.address
        return TaskOutcome(NotebookResult(name, status=Status.FAILED, error=(
            f"the worker running it died, and so did the one that ran it again{runs}; the last was "
            f"{worker}")), worker=worker, executed=False)
    return TaskOutcome(NotebookResult(name, status=Status.FAILED,
                                      error=f"the task failed on the cluster: {type(error).__name__}: "
                                            f"{error}"), executed=False)


@dataclass
class Engine:
    """A connected Dask client, the workers admitted to run tasks (None: all) and how often its
    scheduler re-runs a task whose worker died (None: unknown)."""

    client: Client
    admitted: list[str] | None = None
    allowed_failures: int | None = None
    echo: Callable[[str], None] = print

    def run(self, tasks: Sequence[NotebookTask], on_outcome: Callable[[int, TaskOutcome], None],
            threads: int | None = DEFAULT_THREADS, desc: str = "notebooks",
            progress: bool = True) -> bool:
        """Run ``tasks``; call ``on_outcome(index, outcome)`` as each one finishes, with a progress
        bar of finished tasks. ``threads``: each kernel's torch threads (None: torch's default).

        Returns True when Ctrl-C (or a stop signal) ended it early: what had not finished was
        cancelled and ``on_outcome`` was not called for it.
        """
        versions = worker_module.environment_versions()
        run = _ByValue(worker_module.run_task)
        futures: dict[Future, int] = {}
        bar = tqdm(total=len(tasks), desc=desc, unit="nb", disable=not progress)
        try:
            for index, task in enumerate(tasks):
                future = self.client.submit(run, task_spec(task, threads, versions),
                                            key=f"{task.source.stem}-{uuid.uuid4().hex}",
                                            workers=self.admitted)
                futures[future] = index
            pending = set(futures)
            while pending:
                try:
                    done, pending = wait(pending, timeout=2, return_when="FIRST_COMPLETED")
                except TimeoutError:
                    done = set()
                for future in done:
                    index = futures[future]
                    outcome = self._outcome(tasks[index].source.stem, future)
                    on_outcome(index, outcome)
                    bar.update(1)
                    bar.set_postfix_str(f"{tasks[index].label}: {outcome.result.status}")
                if pending and not self._workers_left():
                    for future in pending:
                        on_outcome(futures[future], TaskOutcome(NotebookResult(
                            tasks[futures[future]].source.stem, status=Status.FAILED,
                            error="no admitted worker is left to run it"), executed=False))
                    self.client.cancel(list(pending))
                    pending = set()
        except KeyboardInterrupt:
            self.client.cancel([f for f in futures if not f.done()])
            return True
        finally:
            bar.close()
        return False

    def _outcome(self, name: str, future: Future) -> TaskOutcome:
        try:
            return outcome_from_answer(name, future.result())
        except Exception as error:
            return outcome_from_error(name, error, self.allowed_failures)
        finally:
            future.release()

    def _workers_left(self) -> bool:
        """Whether a worker that may run the tasks is still there (always, when all may: a
        cluster of one's own may get new workers)."""
        if self.admitted is None:
            return True
        return bool(set(self.admitted) & set(self.client.scheduler_info(n_workers=-1)["workers"]))


def run_tasks(engine: Engine, tasks: Sequence[NotebookTask],
              save: Callable[[int, TaskOutcome], None], mark_left: Callable[[bool], None],
              options: ClusterOptions, desc: str = "notebooks") -> bool:
    """The skeleton sweeps and grading share: run the planned ``tasks`` on ``engine`` with the
    torch threads and progress bar of ``options``, ``save`` each outcome as it arrives, and
    whatever stopped it (Ctrl-C, a stop signal, an error) call ``mark_left(interrupted)`` so what
    never finished says so. Returns whether it was stopped."""
    interrupted = False
    try:
        interrupted = engine.run(tasks, save, threads=options.threads, desc=desc,
                                 progress=options.progress)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        mark_left(interrupted)
    return interrupted


@contextlib.contextmanager
def open_engine(options: ClusterOptions,
                echo: Callable[[str], None] = print) -> Iterator[Engine]:
    """Connect (``open_client``), refuse the workers that differ from this machine
    (``admit_workers``) and yield the ``Engine`` that runs tasks on the others."""
    with open_client(options, echo) as client:
        admitted = admit_workers(client, echo)
        allowed = _allowed_failures(client)
        if allowed is not None and allowed != RETRIES_AFTER_WORKER_DEATH:
            echo(f"note: this scheduler runs a task again up to {allowed} times when its worker dies "
                 "(start it with DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES=1 for once)")
        yield Engine(client, admitted, allowed, echo)
