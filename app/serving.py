"""Several worker processes behind one port, with connections dealt out in turn.

uvicorn's own multi-process mode lets every worker accept from one shared socket. Whichever
event loop wakes first takes every connection that is waiting, so a crowd that opens its
keep-alive connections at once could land 19 on one worker and 1 on the other (measured with
20 clients: throughput no better than one worker, p95 ×1.7). Node's ``cluster`` module met the
same problem and deals connections out round-robin from the primary process; this module does
the same: the supervisor accepts, and hands each connection's file descriptor to the next live
worker over a Unix socket pair (``SCM_RIGHTS``). A worker is an ordinary ``uvicorn.Server``
that serves the connections it is handed. The supervisor restarts a worker that dies, and on
SIGTERM or SIGINT stops accepting and lets every worker finish its requests.
"""

import asyncio
import gc
import logging
import multiprocessing
import os
import selectors
import signal
import socket
import time
from dataclasses import dataclass
from multiprocessing.context import SpawnProcess
from typing import Any

import uvicorn

log = logging.getLogger("uvicorn.error")


def freeze_startup_objects() -> None:
    """Leave what start-up built out of the cyclic garbage collector's full passes.

    A worker's start-up loads the models, the indexes and jieba's dictionary: hundreds of
    thousands of objects that live as long as the process. Every full collection walked all of
    them and stopped the worker's requests: 40–140 ms per pass under the crowd of
    bench/bench_load.py at demo size (timed with ``gc.callbacks``), 4.6 ms once frozen. Frozen
    objects are never collected by the cyclic collector, which objects held for the process's
    life never needed; reference counting still frees the rest. Only the served process
    freezes (not ``create_app``): tests build and drop many apps in one interpreter.
    """
    gc.collect()
    gc.freeze()


class ServedServer(uvicorn.Server):
    """A uvicorn server that freezes its start-up objects once the application has started."""

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if not self.should_exit:  # a failed lifespan start-up leaves at once
            freeze_startup_objects()


class HandedServer(ServedServer):
    """A uvicorn server that listens on nothing and serves the connections it is handed."""

    def __init__(self, config: uvicorn.Config, channel: socket.socket) -> None:
        super().__init__(config)
        self.channel = channel

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=[])
        loop = asyncio.get_running_loop()
        self.channel.setblocking(False)
        loop.add_reader(self.channel.fileno(), self._receive, loop)

    def _protocol(self) -> asyncio.Protocol:
        # as uvicorn's own startup builds it for a listening socket
        return self.config.http_protocol_class(  # type: ignore[call-arg]
            config=self.config, server_state=self.server_state, app_state=self.lifespan.state
        )

    def _receive(self, loop: asyncio.AbstractEventLoop) -> None:
        try:
            message, fds, _flags, _addr = socket.recv_fds(self.channel, 1, 1)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            message, fds = b"", []
        if not message and not fds:  # the supervisor is gone: finish and leave
            loop.remove_reader(self.channel.fileno())
            self.should_exit = True
            return
        for fd in fds:
            sock = socket.socket(fileno=fd)
            if self.should_exit:
                sock.close()
                continue
            loop.create_task(loop.connect_accepted_socket(self._protocol, sock))

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            asyncio.get_running_loop().remove_reader(self.channel.fileno())
        except (ValueError, OSError):
            pass
        await super().shutdown(sockets=sockets)


def _worker(config: uvicorn.Config, channel: socket.socket) -> None:
    config.configure_logging()
    try:
        HandedServer(config, channel).run()
    except KeyboardInterrupt:
        pass


@dataclass
class _Worker:
    process: SpawnProcess
    channel: socket.socket


class Supervisor:
    """Accepts on ``listener`` and deals the connections out to ``workers`` processes."""

    def __init__(self, config: uvicorn.Config, listener: socket.socket, workers: int) -> None:
        self.config = config
        self.listener = listener
        self.count = workers
        self.workers: list[_Worker] = []
        self.turn = 0
        self.stopping = False
        self.context = multiprocessing.get_context("spawn")

    def _spawn(self) -> _Worker:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        process = self.context.Process(target=_worker, args=(self.config, theirs), daemon=False)
        process.start()
        theirs.close()
        log.info("Started worker process [%d]", process.pid)
        return _Worker(process, ours)

    def _hand(self, conn: socket.socket) -> None:
        """Give ``conn`` to the next live worker in turn."""
        for _ in range(len(self.workers)):
            worker = self.workers[self.turn % len(self.workers)]
            self.turn += 1
            try:
                socket.send_fds(worker.channel, [b"c"], [conn.fileno()])
                break
            except OSError:  # that worker has died; the health check replaces it
                continue
        conn.close()  # the worker holds its own copy now (if none took it, the client sees a reset)

    def _accept(self) -> None:
        while True:
            try:
                conn, _addr = self.listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # e.g. too many open files: retry on the next wake-up
                log.warning("accept failed: %s", exc)
                return
            self._hand(conn)

    def _replace_dead(self) -> None:
        for i, worker in enumerate(self.workers):
            if not worker.process.is_alive():
                log.warning(
                    "Worker process [%s] exited with %s; starting another",
                    worker.process.pid,
                    worker.process.exitcode,
                )
                worker.channel.close()
                self.workers[i] = self._spawn()

    def _stop(self, signum: int, _frame: Any) -> None:
        self.stopping = True

    def run(self) -> None:
        log.info("Started parent process [%d]", os.getpid())
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._stop)
        self.workers = [self._spawn() for _ in range(self.count)]
        self.listener.setblocking(False)
        self.listener.listen(self.config.backlog)
        selector = selectors.DefaultSelector()
        selector.register(self.listener, selectors.EVENT_READ)
        try:
            while not self.stopping:
                if selector.select(timeout=0.5):
                    self._accept()
                self._replace_dead()
        finally:
            selector.close()
            self.listener.close()
            self._stop_workers()

    def _stop_workers(self) -> None:
        for worker in self.workers:
            if worker.process.is_alive():
                worker.process.terminate()  # SIGTERM: uvicorn finishes the requests in flight
        deadline = time.monotonic() + (self.config.timeout_graceful_shutdown or 30) + 5
        for worker in self.workers:
            worker.process.join(max(0.1, deadline - time.monotonic()))
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
            worker.channel.close()
        log.info("Stopping parent process [%d]", os.getpid())
