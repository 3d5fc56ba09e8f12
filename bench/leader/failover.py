"""How long after ``kill -9`` of the leader PostgreSQL frees the leader lock (bot.jobs.leader).

``python bench/leader/failover.py [--pg postgresql://postgres@127.0.0.1:5432/postgres] [--runs 5]``: in a
throwaway database, a child process takes the leader lock and is killed with SIGKILL; a follower retries
``check()`` every 5 ms and the time until it leads is printed. Fail-over in ``csbot serve`` is this plus at
most one ``[server] leader_poll_seconds`` (the follower's next check).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg
from sqlalchemy import create_engine

from bot.jobs.leader import PostgresLeader

ROOT = Path(__file__).resolve().parents[2]
CHILD = """
import sys, time
from sqlalchemy import create_engine
from bot.jobs.leader import PostgresLeader
leader = PostgresLeader(create_engine(sys.argv[1]), "child")
assert leader.check()
print("leading", flush=True)
time.sleep(600)
"""


def once(url: str) -> float:
    child = subprocess.Popen([sys.executable, "-c", CHILD, url], stdout=subprocess.PIPE, cwd=str(ROOT))
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == b"leading"
        follower = PostgresLeader(create_engine(url), "follower")
        assert not follower.check()
        started = time.perf_counter()
        os.kill(child.pid, signal.SIGKILL)
        while not follower.check():
            time.sleep(0.005)
        elapsed = time.perf_counter() - started
        follower.release()
        return elapsed
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    name = f"csbot_failover_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.pg, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            url = args.pg.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + "/" + name
            times = sorted(once(url) * 1000 for _ in range(args.runs))
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(f"leader lock free after SIGKILL: median {times[len(times) // 2]:.0f} ms, max {times[-1]:.0f} ms "
          f"over {len(times)} runs ({', '.join(f'{t:.0f}' for t in times)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
