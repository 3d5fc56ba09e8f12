"""Delivery and WeCom callback figures: outbox throughput and per-callback CPU cost.

Seeded and self-contained (fake WeCom on loopback, throwaway databases):

    python bench/delivery/bench_delivery.py                       # SQLite only
    python bench/delivery/bench_delivery.py --pg postgresql+psycopg://postgres@127.0.0.1:5432/postgres

1. Outbox throughput: N messages (seeded lengths, Chinese text, 1-3 parts each) to D WeCom robot
   destinations, client-side rate limits lifted, drained through the full pipeline
   (mute → dedup → limit → send → record) into the fake WeCom API.
2. WeCom callback cost: verify + AES decrypt + defusedxml parse + parse_message for wechatpy-built
   callbacks, in-process (no HTTP), per request.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from pydantic import SecretStr  # noqa: E402

from analytics.store.db import open_database  # noqa: E402
from bot.adapters.base import Destination  # noqa: E402
from bot.adapters.wecom import WeComCallback  # noqa: E402
from bot.adapters.wecom_api import WeComSender  # noqa: E402
from bot.config import DeliveryRateLimit, DeliverySettings, WeComRobot, WeComSettings  # noqa: E402
from bot.delivery.outbox import Outbox  # noqa: E402
from handlers.base import Reply  # noqa: E402
from tests import wecom_client as wx  # noqa: E402
from tests.fakes.wecom_server import FakeWeCom  # noqa: E402

WORDS = ["满意度", "投诉", "首响", "物流", "客服小王", "退货", "淘宝", "京东", "本周", "同比上升", "下降"]


def text_of(rng: random.Random) -> str:
    lines = rng.randint(1, 400)
    return "\n".join(" ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 12))) for _ in range(lines))


async def outbox_throughput(url: str, n: int, destinations: int, seed: int) -> dict[str, float]:
    rng = random.Random(seed)
    keys = {f"bench-key-{i:03d}" for i in range(destinations)}
    async with FakeWeCom(robot_keys=keys, robot_rate_per_minute=10**9) as fake:
        settings = WeComSettings(robots=[WeComRobot(name=k, webhook=SecretStr(fake.webhook_url(k))) for k in keys])
        sender = WeComSender(settings)
        engine = open_database(url)
        lifted = DeliverySettings(rate_limits=[DeliveryRateLimit(platform="wecom", count=10**9, per_seconds=1)])
        outbox = Outbox(engine, {"wecom": sender}, settings=lifted)
        names = sorted(keys)
        t0 = time.perf_counter()
        for i in range(n):
            await outbox.enqueue(Destination("wecom", "robot", names[i % destinations]), Reply(text_of(rng)))
        t1 = time.perf_counter()
        await outbox.drain()
        t2 = time.perf_counter()
        await sender.close()
        engine.dispose()
        return {"messages": n, "http_posts": len(fake.sent), "enqueue_per_s": n / (t1 - t0),
                "deliver_rows_per_s": n / (t2 - t1), "deliver_posts_per_s": len(fake.sent) / (t2 - t1)}


def callback_cost(count: int, seed: int) -> dict[str, float]:
    rng = random.Random(seed)
    settings = WeComSettings(corp_id=wx.CORP_ID, token=SecretStr(wx.TOKEN), encoding_aes_key=SecretStr(wx.AES_KEY))
    taken = []
    cb = WeComCallback(settings, lambda m: taken.append(m) or True, clock=lambda: wx.NOW)
    requests = [wx.post(wx.inner_text(f"/满意度 本周 {'渠道=淘宝 ' * rng.randint(0, 20)}", msg_id=str(i)))
                for i in range(count)]
    samples = []
    for query, body in requests:
        t = time.perf_counter_ns()
        result = cb.receive(query, body.encode())
        samples.append((time.perf_counter_ns() - t) / 1000)
        assert result.status == 200
    samples.sort()
    return {"callbacks": count, "p50_us": statistics.median(samples), "p99_us": samples[int(0.99 * len(samples))]}


def pg_url(admin: str) -> str:
    import psycopg

    name = f"csbot_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return admin.rsplit("/", 1)[0] + "/" + name, name


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=500)
    ap.add_argument("--destinations", type=int, default=10)
    ap.add_argument("--callbacks", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--pg", default="", help="PostgreSQL admin URL; a throwaway database is created and dropped")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        result = asyncio.run(outbox_throughput(f"sqlite:///{tmp}/bench.db", args.messages, args.destinations,
                                               args.seed))
        print("outbox sqlite    ", {k: round(v, 1) for k, v in result.items()})
    if args.pg:
        import psycopg

        url, name = pg_url(args.pg)
        try:
            result = asyncio.run(outbox_throughput(url, args.messages, args.destinations, args.seed))
            print("outbox postgresql", {k: round(v, 1) for k, v in result.items()})
        finally:
            with psycopg.connect(args.pg.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as c:
                c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print("wecom callback   ", {k: round(v, 1) for k, v in callback_cost(args.callbacks, args.seed).items()})


if __name__ == "__main__":
    main()
