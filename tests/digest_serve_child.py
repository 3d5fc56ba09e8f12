"""``csbot serve`` with a shifted clock, for the multi-replica digest tests (test-only hook).

``python -m tests.digest_serve_child CONFIG START ANCHOR``: the digest job's clock (and the bot's) reads
``START`` (ISO 8601 with offset) at wall-clock epoch ``ANCHOR`` and runs at real speed from there, so
two replicas started at different moments agree on the time. Everything else is exactly ``csbot
serve``: the real scheduler, outbox worker, senders and database. The hook is this module replacing
``bot.jobs.digests.system_clock`` before ``serve`` builds its parts; production code has no clock
setting.
"""

from __future__ import annotations

import sys
import time
from datetime import datetime, timedelta


def main(argv: list[str]) -> int:
    config, start, anchor = argv[0], datetime.fromisoformat(argv[1]), float(argv[2])

    def shifted() -> datetime:
        return start + timedelta(seconds=time.time() - anchor)

    import bot.app
    import bot.jobs.digests
    from bot import cli

    bot.jobs.digests.system_clock = lambda settings: shifted  # type: ignore[assignment]
    bot.app.Bot.now = lambda self: shifted()  # type: ignore[method-assign]
    return cli.main(["--config", config, "serve"])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
