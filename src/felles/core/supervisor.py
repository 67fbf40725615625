"""The supervisor of `felles serve --workers N`: N server processes on one listening socket, kept alive.

The parent binds the socket once, builds the app once (as gunicorn's `--preload`) and forks N server processes
from itself (each a uvicorn server with its own in-process job worker) that accept from it, so the kernel
spreads connections over whichever processes are alive. A forked process runs only the app's lifespan before
it accepts, not the import and build of Felles (about 5 s of CPU): a replacement that started a new interpreter
was not ready for 16–21 s at load 5–7 on two cores, and when the other process died meanwhile, requests waited
on the socket with no process to accept them, up to the clients' timeouts. When a process dies (a crash, the
OOM killer, `kill -9`), the supervisor

- starts a new process in its place,
- releases the jobs the dead one had leased (they run again at once on another process instead of after their
  lease runs out: nothing is lost, and nothing waits two minutes), and
- forgets its Prometheus samples of live gauges (its counters stay in the shared metrics folder).

On SIGTERM or SIGINT the supervisor passes SIGTERM to every process, which stops accepting, lets the requests in
flight finish and its job worker finish the jobs it runs (uvicorn's graceful shutdown and the app's lifespan),
then exits; a process still busy after `graceful_seconds` is killed, and its jobs released.

Forking asks that the supervisor hold no other thread and no open connection when it forks (`release_jobs_of`
closes its own), and that building the app opens nothing: the app opens its database connections, blob store
clients and job worker lazily, in each process.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.context import ForkProcess
from typing import Any

import structlog
from prometheus_client import multiprocess, values

log = structlog.get_logger("felles.supervisor")
RESTART_PAUSE_SECONDS = 0.5  # between two restarts of a process that dies at once, so a crash loop does not spin
_fork = multiprocessing.get_context("fork")


def app_from_environment() -> Any:
    """The app of every server process, from the environment (FELLES_*), with every route built, so that a
    forked process (a replacement too) builds nothing on its first requests."""
    from felles.app import create_app_from_environment
    from felles.core.routing import build_every_route

    app = create_app_from_environment()
    build_every_route(app)
    return app


def _serve_one(app: Any, uvicorn_options: dict[str, Any], listener: socket.socket) -> None:
    """One server process, forked from the supervisor: the app it built, served on the inherited socket."""
    import uvicorn

    # The supervisor's handlers came along with the fork; until uvicorn sets its own, a signal ends the process.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, signal.SIG_DFL)
    uvicorn.Server(uvicorn.Config(app, **uvicorn_options)).run(sockets=[listener])


@dataclass
class Supervisor:
    """Runs `workers` server processes on `listener` until SIGTERM/SIGINT (or `stop()`), restarting any that dies.

    `load_app()` builds the app once, in the supervisor. `on_death(pid)` is called in the supervisor for each
    process that died without being asked to stop."""

    listener: socket.socket
    workers: int
    uvicorn_options: dict[str, Any]
    load_app: Callable[[], Any] = app_from_environment
    on_death: Callable[[int], None] = lambda _pid: None
    graceful_seconds: float = 30.0
    processes: list[ForkProcess] = field(default_factory=list)
    restarts: int = 0
    app: Any = None
    _stopping: threading.Event = field(default_factory=threading.Event)

    def stop(self, *_: object) -> None:
        self._stopping.set()

    def _start(self) -> ForkProcess:
        process = _fork.Process(target=_serve_one, args=(self.app, self.uvicorn_options, self.listener), daemon=False)
        process.start()
        log.info("server_process_started", pid=process.pid)
        return process

    def run(self) -> None:
        if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            # The processes' metrics, summed by `/metrics` on any of them (core/metrics.py).
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="felles-metrics-")
        # prometheus-client chose how to keep samples when `felles` imported it, before the folder was set; the
        # processes forked from here write theirs to the folder.
        values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]
        self.app = self.load_app()
        previous = {signum: signal.signal(signum, self.stop) for signum in (signal.SIGTERM, signal.SIGINT)}
        try:
            self.processes = [self._start() for _ in range(self.workers)]
            while not self._stopping.wait(0.2):
                self._replace_dead()
        finally:
            self._shut_down()
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def _replace_dead(self) -> None:
        for index, process in enumerate(self.processes):
            if process.is_alive() or self._stopping.is_set():
                continue
            pid = process.pid or 0
            log.warning("server_process_died", pid=pid, exitcode=process.exitcode)
            process.close()
            time.sleep(RESTART_PAUSE_SECONDS)
            # The replacement first: it serves at once, while the clean-up waits for the database.
            self.processes[index] = self._start()
            self.restarts += 1
            try:
                multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
                self.on_death(pid)
            except Exception as exc:  # noqa: BLE001 - a failed clean-up must not stop the other processes
                log.error("server_process_cleanup_failed", pid=pid, error=repr(exc))

    def _shut_down(self) -> None:
        """Graceful: SIGTERM to each, wait for them to finish their work, kill (and clean up after) the rest."""
        for process in self.processes:
            if process.is_alive() and process.pid is not None:
                os.kill(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + self.graceful_seconds
        for process in self.processes:
            process.join(max(deadline - time.monotonic(), 0))
            if process.is_alive():
                log.warning("server_process_killed_after_grace", pid=process.pid)
                process.kill()
                process.join()
                self.on_death(process.pid or 0)
        self.listener.close()


def bind(host: str, port: int) -> socket.socket:
    """The listening socket every server process accepts from."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))
    listener.listen(2048)
    listener.set_inheritable(True)
    return listener


def release_jobs_of(database_url: str, pid: int) -> int:
    """After a server process of this machine died: give back the jobs it had leased (see `jobs.release_jobs_of`)."""
    from felles.core.db import Database
    from felles.core.jobs import release_jobs_of_process

    async def release() -> int:
        database = Database(database_url)
        try:
            async with database.transaction() as session:
                return await release_jobs_of_process(session, socket.gethostname(), pid)
        finally:
            await database.dispose()

    released = asyncio.run(release())
    log.info("jobs_released", pid=pid, jobs=released)
    return released
