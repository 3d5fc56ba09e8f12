"""Running chart functions off the event loop, in a small bounded thread pool.

Matplotlib's object API (a ``Figure`` with its own ``FigureCanvasAgg``) keeps no global state,
and its font cache is per thread, so charts can render in parallel threads. Drawing is
CPU-bound, so two workers are enough to keep the loop free without starving it of the GIL.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

MAX_WORKERS = 2

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=MAX_WORKERS, thread_name_prefix="csbot-chart")
        return _pool


async def render(fn: Callable[..., Path], /, *args: Any, **kwargs: Any) -> Path:
    """Run ``fn(*args, **kwargs)`` (e.g. :func:`trend_chart`) in the chart pool and await its path.

    At most :data:`MAX_WORKERS` charts render at once; further calls wait in the pool's queue."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_executor(), functools.partial(fn, *args, **kwargs))


def shutdown(wait: bool = True) -> None:
    """Stop the chart pool (a later :func:`render` starts a new one). For clean process exit."""
    global _pool
    with _lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=wait)
