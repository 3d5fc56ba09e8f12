"""Seeded generator of large import files for the import and metric benchmarks.

    python bench/gen_data.py --conversations 1000000 --out bench/data --seed 1

writes conversations.csv and messages.csv (2 messages per conversation on average), plus complaints,
orders, returns and reviews to match, covering --days days (default 45) that end at --end (default
2026-11-30, so the files are identical on every machine). Rows are in time order with ids increasing,
as a CS system exports them; timestamps are naive local time. Same seed and arguments -> byte-identical
files.
"""

from __future__ import annotations

import argparse
import csv
import math
import random
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

CHANNELS = [("淘宝", 0.45), ("京东", 0.25), ("抖音", 0.20), ("官网", 0.10)]
SHOPS = {"淘宝": ["天猫旗舰店", "淘宝专营店"], "京东": ["京东自营店"], "抖音": ["抖音小店"], "官网": ["官方商城"]}
AGENTS = [
    "小王", "小李", "小张", "小刘", "小陈", "小杨", "小赵", "小黄", "小周", "小吴",
    "小徐", "小孙", "小胡", "小朱", "小高", "小林", "小何", "小郭", "小马", "小罗",
]
PRODUCTS = [
    ("保温杯 500ml", 89.0), ("无线蓝牙耳机", 299.0), ("电动牙刷", 199.0), ("羽绒服 男款", 1299.0),
    ("羊毛围巾", 159.0), ("空气炸锅", 459.0), ("儿童书包", 129.0), ("运动鞋 女款", 399.0),
    ("扫地机器人", 1899.0), ("面霜 50g", 268.0), ("茶叶礼盒", 328.0), ("手机壳", 29.9),
    ("机械键盘", 549.0), ("加湿器", 139.0), ("床上四件套", 499.0), ("咖啡豆 1kg", 118.0),
]
# Hourly weights of chat volume (0..23 h): quiet nights, a late-morning and an evening peak.
HOURLY = [1, 0.5, 0.3, 0.2, 0.2, 0.3, 0.8, 2, 4, 6, 8, 8.5, 6, 6.5, 7, 7, 6.5, 6, 5.5, 6.5, 8, 9, 7, 3]
GREETINGS = ["", "你好，", "在吗？", "您好，", "亲，", "客服在吗，", "hello，"]
QUESTIONS = [
    "我的快递到哪了", "什么时候发货", "物流三天没更新了", "可以改地址吗", "能开发票吗", "怎么申请退货",
    "退款什么时候到账", "这个有优惠券吗", "尺码怎么选", "{p}还有货吗", "{p}是正品吗", "{p}坏了怎么办",
    "收到的{p}有划痕", "{p}少发了一件", "能便宜点吗", "保修多久", "赠品没收到", "可以货到付款吗",
    "{p}怎么用", "发什么快递", "能加急吗", "价格保护怎么申请", "包装破损了", "颜色和图片不一样",
]
SUFFIXES = ["", "？", "。", "，急", "，谢谢", "!!", "，麻烦看一下"]
REPLIES = [
    "亲，已经帮您查询了，预计明天送达", "您好，订单已发货，请耐心等待", "可以的，请提供新的地址",
    "支持开具电子发票，请在订单页申请", "请在订单详情页点击申请退货", "退款会在1-3个工作日原路返回",
    "目前店铺有满300减30的活动", "建议参考详情页尺码表", "有货的，现在下单今天发出", "我们保证正品",
    "非常抱歉给您带来不便，马上为您处理", "麻烦拍照发给我们，核实后给您补发", "保修一年，人为损坏除外",
]
FOLLOW_UPS = ["好的谢谢", "太慢了吧", "行吧", "谢谢，很满意", "还是没解决", "OK", "那我等等", "服务不错"]
COMPLAINTS = {
    "物流": ["快递一周了还没到", "物流信息一直不更新", "快递员态度很差还不送上门"],
    "质量": ["{p}用了两天就坏了", "收到的{p}有明显瑕疵", "{p}做工太差"],
    "服务态度": ["客服爱答不理", "客服说话很冲", "问了三遍都没人回"],
    "退款售后": ["退款申请一直不处理", "退货寄回去了还没退钱", "售后推来推去"],
    "价格优惠": ["刚买就降价了不给保价", "优惠券用不了", "活动价和结算价不一样"],
    "发票": ["发票一直没开", "发票抬头开错了"],
    "其他": ["页面描述不清楚", "赠品和宣传的不一样"],
}
RETURN_REASONS = ["七天无理由", "质量问题", "尺码不合适", "发错货", "与描述不符", "不想要了"]
REVIEW_TEXTS = {
    5: ["非常好，物超所值", "质量很好，会回购", "物流快，包装好"], 4: ["还不错", "整体满意，就是有点贵"],
    3: ["一般般", "凑合用吧"], 2: ["不太好用", "和描述有差距"], 1: ["很差，后悔买了", "质量太差，已经退了"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("data"))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--end", default="2026-11-30", help="last day covered (exclusive end is the next midnight)")
    parser.add_argument("--days", type=int, default=45)
    args = parser.parse_args()
    started = time.perf_counter()
    counts = generate(args.out, args.conversations, seed=args.seed,
                      end=datetime.fromisoformat(args.end) + timedelta(days=1), days=args.days)
    for kind, n in counts.items():
        print(f"{kind:14s} {n:>10,d} rows -> {args.out / (kind + '.csv')}")
    print(f"generated in {time.perf_counter() - started:.1f} s")


def generate(out: Path, conversations: int, *, seed: int, end: datetime, days: int) -> dict[str, int]:
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    start = end - timedelta(days=days)
    day_weights = [_day_weight(start + timedelta(days=d)) for d in range(days)]
    hour_cum = _cumulative(HOURLY)
    day_cum = _cumulative(day_weights)
    counts = dict.fromkeys(("conversations", "messages", "complaints", "orders", "returns", "reviews"), 0)
    agent_speed = {a: rng.uniform(8, 60) for a in AGENTS}  # median first response per agent (s)
    customers = max(1, conversations // 3)
    # Start times first, sorted: a CS system numbers conversations in time order and exports them so.
    offsets = sorted(
        day * 86400 + hour * 3600 + rng.randrange(3600)
        for day, hour in zip(rng.choices(range(days), cum_weights=day_cum, k=conversations),
                             rng.choices(range(24), cum_weights=hour_cum, k=conversations), strict=True)
    )
    with _Writers(out, end) as w:
        for i, offset in enumerate(offsets, start=1):
            _conversation(w, rng, i, start + timedelta(seconds=offset), agent_speed, customers, counts)
    return counts


def _conversation(w: _Writers, rng: random.Random, i: int, began: datetime, agent_speed: dict[str, float],
                  customers: int, counts: dict[str, int]) -> None:
    cid = f"C{i:08d}"
    channel = rng.choices([c for c, _ in CHANNELS], weights=[p for _, p in CHANNELS])[0]
    agent = rng.choice(AGENTS)
    customer = f"U{rng.randrange(customers):07d}"
    frt = max(1, int(rng.lognormvariate(math.log(agent_speed[agent]), 0.8)))
    ended = began + timedelta(seconds=frt + rng.randrange(60, 1800))
    rating = _rating(rng, frt) if rng.random() < 0.4 else ""
    resolved = rng.choices(["true", "false", ""], weights=[85, 10, 5])[0]
    w.conversations.writerow([
        cid, _ts(began), agent, channel, rng.choice(SHOPS[channel]), customer, _ts(ended),
        frt if rng.random() < 0.8 else "", resolved, rating, "true" if rng.random() < 0.05 else "false",
    ])
    counts["conversations"] += 1
    product = rng.choice(PRODUCTS)
    question = rng.choice(QUESTIONS).format(p=product[0])
    messages = [("customer", began, rng.choice(GREETINGS) + question + rng.choice(SUFFIXES))]
    shape = rng.random()
    if shape >= 0.3:  # 30 % one message, 40 % two, 30 % three: 2.0 on average
        messages.append(("agent", began + timedelta(seconds=frt), rng.choice(REPLIES)))
    if shape >= 0.7:
        if rng.random() < 0.5:
            messages.insert(1, ("bot", began + timedelta(seconds=1), "您好，机器人小助手为您服务"))
        else:
            messages.append(("customer", began + timedelta(seconds=frt + rng.randrange(5, 300)),
                             rng.choice(FOLLOW_UPS)))
    for n, (sender, sent, text) in enumerate(messages, start=1):
        w.messages.writerow([f"{cid}-{n}", cid, _ts(sent), sender, text])
    counts["messages"] += len(messages)
    if rng.random() < 0.015:
        _complaint(w, rng, cid, began, channel, product[0], counts)
    if rng.random() < 0.6:
        _order(w, rng, i, began, channel, customer, product, counts)


def _complaint(w: _Writers, rng: random.Random, cid: str, began: datetime, channel: str, product: str,
               counts: dict[str, int]) -> None:
    category = rng.choices(list(COMPLAINTS), weights=[30, 25, 15, 15, 8, 4, 3])[0]
    text = rng.choice(COMPLAINTS[category]).format(p=product)
    counts["complaints"] += 1
    w.complaints.writerow([
        f"P{counts['complaints']:07d}", _ts(began + timedelta(minutes=rng.randrange(1, 600))), text, channel,
        category if rng.random() < 0.8 else "", product, "", cid, rng.choice(["一般", "严重", "紧急"]),
    ])


def _order(w: _Writers, rng: random.Random, i: int, began: datetime, channel: str, customer: str,
           product: tuple[str, float], counts: dict[str, int]) -> None:
    oid = f"O{i:08d}"
    quantity = rng.choices([1, 2, 3], weights=[80, 15, 5])[0]
    created = began + timedelta(minutes=rng.randrange(0, 120))
    amount = f"{product[1] * quantity:.2f}"
    sku = f"SKU-{PRODUCTS.index(product):03d}"
    w.orders.writerow([oid, _ts(created), customer, channel, product[0], sku, amount, quantity])
    counts["orders"] += 1
    returned = created + timedelta(days=rng.randrange(1, 10), seconds=rng.randrange(86400))
    if rng.random() < 0.06 and returned < w.end:
        counts["returns"] += 1
        w.returns.writerow([f"R{counts['returns']:07d}", oid, _ts(returned), rng.choice(RETURN_REASONS),
                            product[0], amount])
    reviewed = created + timedelta(days=rng.randrange(2, 15), seconds=rng.randrange(86400))
    if rng.random() < 0.25 and reviewed < w.end:
        counts["reviews"] += 1
        stars = rng.choices([5, 4, 3, 2, 1], weights=[60, 20, 8, 6, 6])[0]
        w.reviews.writerow([f"V{counts['reviews']:07d}", _ts(reviewed), stars, oid, product[0],
                            rng.choice(REVIEW_TEXTS[stars])])


def _rating(rng: random.Random, frt: int) -> int:
    good = 0.92 if frt <= 30 else 0.8 if frt <= 120 else 0.55
    return rng.choice([4, 5, 5]) if rng.random() < good else rng.choice([1, 2, 3])


def _day_weight(day: datetime) -> float:
    weight = 0.85 if day.weekday() >= 5 else 1.0
    return weight * (3.0 if (day.month, day.day) == (11, 11) else 1.0)  # the promotion day


def _cumulative(weights: list[float]) -> list[float]:
    total, out = 0.0, []
    for weight in weights:
        total += weight
        out.append(total)
    return out


def _ts(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


class _Writers:
    HEADERS = {
        "conversations": ["conversation_id", "started_at", "agent", "channel", "shop", "customer_id", "ended_at",
                          "first_response_seconds", "resolved", "rating", "transferred"],
        "messages": ["message_id", "conversation_id", "sent_at", "sender", "text"],
        "complaints": ["complaint_id", "created_at", "text", "channel", "category", "product", "order_id",
                       "conversation_id", "severity"],
        "orders": ["order_id", "created_at", "customer_id", "channel", "product", "sku", "amount", "quantity"],
        "returns": ["return_id", "order_id", "created_at", "reason", "product", "amount"],
        "reviews": ["review_id", "created_at", "rating", "order_id", "product", "text"],
    }

    def __init__(self, out: Path, end: datetime):
        self._out = out
        self.end = end  # returns and reviews that would fall after the data's end have not happened yet
        self._files: list[Any] = []

    def __enter__(self) -> _Writers:
        for kind, header in self.HEADERS.items():
            f = open(self._out / f"{kind}.csv", "w", encoding="utf-8", newline="")  # noqa: SIM115
            self._files.append(f)
            writer = csv.writer(f)
            writer.writerow(header)
            setattr(self, kind, writer)
        return self

    def __exit__(self, *exc: object) -> None:
        for f in self._files:
            f.close()

    conversations: Any
    messages: Any
    complaints: Any
    orders: Any
    returns: Any
    reviews: Any


KINDS = tuple(_Writers.HEADERS)


if __name__ == "__main__":
    main()
