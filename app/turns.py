"""Work handed to a small pool of threads one client at a time.

A plain executor serves its queue first come, first served: a county officer signing in just
after a burst of failed sign-ins from one address waited for every check of it
(bench/bench_load.py on a 2-core VM: p95 8.9 s; 3.3 s with turns). Here each client (the
address the work came for, an IPv6 one by its /64) has its own queue, and the threads take the
clients' queues in turn, so a piece of work waits for the work already running and at most one
more of every other client that is waiting. Within one client the order stays first come,
first served.

Used for the two kinds of sign-in work (``app.auth``): the password check, and the short
transactions that count the attempt and record its outcome.
"""

from __future__ import annotations

import asyncio
import functools
import weakref
from collections import OrderedDict, deque
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any, TypeVar

_T = TypeVar("_T")


class Turns:
    """Work of one event loop, run in ``pool`` at most ``width`` at a time, clients in turn."""

    def __init__(self, pool: Executor, width: int) -> None:
        self.pool = pool
        self.width = width
        self.running = 0
        # client -> its waiting work; the first key is the next to be served
        self.waiting: OrderedDict[str, deque[tuple[Callable[[], Any], asyncio.Future[Any]]]] = (
            OrderedDict()
        )

    async def run(self, client: str, work: Callable[[], _T]) -> _T:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[_T] = loop.create_future()
        self.waiting.setdefault(client, deque()).append((work, done))
        self._start_next(loop)
        return await done

    def _start_next(self, loop: asyncio.AbstractEventLoop) -> None:
        while self.running < self.width and self.waiting:
            client, queue = next(iter(self.waiting.items()))
            work, done = queue.popleft()
            if queue:
                self.waiting.move_to_end(client)  # the other clients' turn comes first
            else:
                del self.waiting[client]
            if done.cancelled():  # the request went away while it waited (client gone)
                continue
            started = loop.run_in_executor(self.pool, work)
            self.running += 1
            started.add_done_callback(functools.partial(self._finished, loop, done=done))

    def _finished(
        self,
        loop: asyncio.AbstractEventLoop,
        result: asyncio.Future[Any],
        done: asyncio.Future[Any],
    ) -> None:
        self.running -= 1
        if result.cancelled():  # the pool was shut down under it (the process is ending)
            done.cancel()
        elif not done.cancelled():
            if result.exception() is not None:
                done.set_exception(result.exception())  # type: ignore[arg-type]
            else:
                done.set_result(result.result())
        self._start_next(loop)


@functools.lru_cache
def _pool(name: str, width: int, initializer: Callable[[], None] | None) -> ThreadPoolExecutor:
    # One pool per name and width in the process, shared by its event loops.
    return ThreadPoolExecutor(max_workers=width, thread_name_prefix=name, initializer=initializer)


_by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, Turns]] = (
    weakref.WeakKeyDictionary()
)


def turns(name: str, width: int, initializer: Callable[[], None] | None = None) -> Turns:
    """The running loop's turns called ``name``, run in the process's ``width`` threads of that
    name (each started with ``initializer``); a new one when the width changed."""
    loop = asyncio.get_running_loop()
    named = _by_loop.setdefault(loop, {})
    found = named.get(name)
    if found is None or found.width != width:
        found = named[name] = Turns(_pool(name, width, initializer), width)
    return found
