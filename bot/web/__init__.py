"""The HTTP side of ``csbot serve``: building the aiohttp app, wiring platform callbacks, the event
API (``POST /api/v1/events``), signed chart links, ``/healthz`` ``/readyz`` ``/metrics``.

Modules: ``app`` (routes, middleware, lifecycle, :func:`create_app`), ``context`` (what route handlers
share), ``build`` (database, bot, senders, outbox from settings), ``serve`` (:func:`run`), ``charts``,
``health``, ``metrics``, ``events``. Platform request parsing and signatures stay in ``bot.adapters``
(they import ``context`` only); outbound delivery in ``bot.delivery``. Callers outside import from here.
"""

from __future__ import annotations

from bot.web.app import create_app
from bot.web.serve import run

__all__ = ["create_app", "run"]
