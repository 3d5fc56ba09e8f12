"""The demo world, built day by day from one seed, and its rows in the canonical import columns."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from analytics.demo import feedback, timeline
from analytics.demo import topics as T
from analytics.demo.chats import ChatPlan, RecentOrders, day_chats, plan_chat
from analytics.demo.orders import ORDERS_PER_CONVERSATION, Customers, OrderInfo, aftermath, day_orders
from analytics.demo.phrases import Weighted
from analytics.demo.shop import CHANNELS, PRODUCT_BY_NAME, PRODUCTS, SPIKE_CATEGORY, SPIKE_PRODUCT

BASE_CONVERSATIONS_PER_DAY = 850
COMPLAINT_BASE = 0.008  # per conversation, before topic/channel/outcome factors
UNLINKED_COMPLAINT_SHARE = 0.25  # complaints filed on the platform without a chat
UNCATEGORISED_SHARE = 0.2  # complaints left for the classifier
KINDS = ("conversations", "messages", "complaints", "orders", "returns", "reviews", "kb")

_CHANNEL_BY_NAME = {c.name: c for c in CHANNELS}
_PICK_CATEGORY = Weighted(feedback.CATEGORIES, feedback.CATEGORY_WEIGHTS)


@dataclass(slots=True)
class World:
    days: list[date]
    promo: date
    spike: tuple[datetime, datetime]
    now: datetime
    chats: list[ChatPlan] = field(default_factory=list)
    orders: list[OrderInfo] = field(default_factory=list)
    returns: list[dict] = field(default_factory=list)
    reviews: list[dict] = field(default_factory=list)
    complaints: list[dict] = field(default_factory=list)


def _stream(seed: int, name: str) -> random.Random:
    """An independent, reproducible random stream per concern (string seeds hash the same in every process)."""
    return random.Random(f"csbot-demo:{seed}:{name}")


def build_world(*, days: int, seed: int, now: datetime, tz: ZoneInfo, scale: float) -> World:
    if days < 1:
        raise ValueError("days must be at least 1")
    if scale <= 0:
        raise ValueError("scale must be positive")
    now = now.replace(tzinfo=tz) if now.tzinfo is None else now
    day_list = timeline.day_range(now, tz, days)
    spike_start, spike_end = timeline.spike_window(now, tz)
    range_start = timeline.local_midnight(day_list[0], tz)
    if spike_start < range_start:  # a one-day range seen early in the morning has no room for it
        spike_start = spike_end = range_start
    world = World(days=day_list, promo=timeline.promotion_day(day_list), spike=(spike_start, spike_end), now=now)
    vol_rng, order_rng, chat_rng, complaint_rng = (_stream(seed, n) for n in ("volume", "orders", "chats", "complaints"))
    customers = Customers(_stream(seed, "customers"), scale)
    recent = RecentOrders()
    base = BASE_CONVERSATIONS_PER_DAY * scale
    for d in day_list:
        expected = timeline.day_volume(vol_rng, d, day_list, world.promo, base)
        order_factor = timeline.PROMO_ORDER_FACTOR / timeline.PROMO_FACTOR if d == world.promo else 1.0
        orders = day_orders(order_rng, d, tz, now, expected * ORDERS_PER_CONVERSATION * order_factor, world.promo,
                            customers)
        recent.add(d, orders)
        for o in orders:
            world.orders.append(o)
            ret, rev = aftermath(order_rng, o, now, d == world.promo)
            if ret:
                world.returns.append(ret)
            if rev:
                world.reviews.append(rev)
        world.chats.extend(day_chats(chat_rng, d, tz, now, expected, world.promo, recent, customers))
    _complaints(complaint_rng, world, recent)
    _spike(_stream(seed, "spike"), world, recent, customers, tz)
    _assign_ids(world, tz)
    return world


def _complaint(rng: random.Random, created: datetime, category: str, text: str, *, channel: str | None,
               product: str | None, order_id: str | None, chat: ChatPlan | None, spike: bool = False) -> dict:
    keep = rng.random() >= (0.1 if spike else UNCATEGORISED_SHARE)
    return {"created_at": created, "text": text, "channel": channel, "category": category if keep else None,
            "product": product, "order_id": order_id, "_chat": chat, "severity": feedback.severity(rng, category, spike)}


def _complaints(rng: random.Random, world: World, recent: RecentOrders) -> None:
    """Complaints born in chats (by topic, channel, outcome and wait) plus some filed without a chat."""
    for chat in world.chats:
        f = chat.facts
        p = COMPLAINT_BASE * T.COMPLAINT_PROPENSITY[f.topic] * _CHANNEL_BY_NAME[chat.channel].complaint_factor
        p *= (1.0 if f.resolved else 2.5) * (1.5 if chat.frt > 300 else 1.0)
        if rng.random() >= p:
            continue
        category = "服务态度" if chat.frt > 300 and rng.random() < 0.4 else T.COMPLAINT_CATEGORY[f.topic]
        created = chat.start + timedelta(seconds=chat.script[-1][0] + rng.randint(30, 3600))
        if created >= world.now:
            continue
        text = feedback.complaint_text(rng, category, f.product)
        world.complaints.append(_complaint(rng, created, category, text, channel=chat.channel, product=f.product.name,
                                           order_id=f.order_id, chat=chat))
    linked = len(world.complaints)
    for _ in range(int(linked * UNLINKED_COMPLAINT_SHARE / (1 - UNLINKED_COMPLAINT_SHARE))):
        chat = world.chats[rng.randrange(len(world.chats))]  # borrow a realistic moment, not the chat itself
        created = chat.start + timedelta(minutes=rng.randint(0, 90))
        if created >= world.now:
            continue
        order = recent.pick(rng, created.date())
        category = _PICK_CATEGORY(rng)
        product = order.product if order else rng.choice(PRODUCTS)
        world.complaints.append(_complaint(
            rng, created, category, feedback.complaint_text(rng, category, product),
            channel=order.channel if order else None, product=product.name,
            order_id=order.order_id if order else None, chat=None))


def _same_hours_baseline(world: World, tz: ZoneInfo) -> float:
    """Mean complaints per day in the spike's clock hours, over the other days of the range."""
    start, end = world.spike
    spike_day = start.astimezone(tz).date()
    h0, h1 = start.astimezone(tz).hour, end.astimezone(tz).hour
    counts: dict[date, int] = {d: 0 for d in world.days if d != spike_day and d < world.now.astimezone(tz).date()}
    for c in world.complaints:
        local = c["created_at"].astimezone(tz)
        if local.date() in counts and h0 <= local.hour < h1:
            counts[local.date()] += 1
    return sum(counts.values()) / len(counts) if counts else 0.0


def _spike(rng: random.Random, world: World, recent: RecentOrders, customers: Customers, tz: ZoneInfo) -> None:
    """Parcels of one product stuck at a hub: complaints in the spike window jump to 5× the usual for those hours,
    with the chats they come from (so sentiment and 热词 move too)."""
    start, end = world.spike
    if end <= start:
        return
    already = sum(1 for c in world.complaints if start <= c["created_at"] < end)
    target = max(timeline.SPIKE_MIN_COMPLAINTS, math.ceil(timeline.SPIKE_MULTIPLIER * _same_hours_baseline(world, tz)))
    span = int((end - start).total_seconds())
    product = PRODUCT_BY_NAME[SPIKE_PRODUCT]
    d = start.astimezone(tz).date()
    for i in range(max(0, target - already) * 2):
        t = start + timedelta(seconds=rng.randrange(span))
        chat = plan_chat(rng, t, d, world.promo, recent, customers, topic=T.STUCK, product=SPIKE_PRODUCT, slow=1.8)
        world.chats.append(chat)
        if i % 2:
            continue  # every other stuck-parcel chat ends in a formal complaint
        created = min(end - timedelta(seconds=1), t + timedelta(seconds=chat.script[-1][0] + rng.randint(10, 600)))
        if created >= world.now:
            created = t
        world.complaints.append(_complaint(
            rng, created, SPIKE_CATEGORY, feedback.spike_text(rng, product), channel=chat.channel,
            product=SPIKE_PRODUCT, order_id=chat.facts.order_id, chat=chat if rng.random() < 0.8 else None, spike=True))


def _assign_ids(world: World, tz: ZoneInfo) -> None:
    """Stable ids: a prefix, the local date and a sequence number in time order (e.g. C2026112500001)."""
    world.chats.sort(key=lambda c: c.start)
    for seq_key, chat in _sequenced(world.chats, lambda c: c.start, tz):
        chat.conversation_id = f"C{seq_key}"
    for rows, prefix, column in ((world.complaints, "CP", "complaint_id"), (world.returns, "RT", "return_id"),
                                 (world.reviews, "RV", "review_id")):
        rows.sort(key=lambda r: r["created_at"])
        for seq_key, row in _sequenced(rows, lambda r: r["created_at"], tz):
            row[column] = f"{prefix}{seq_key}"


def _sequenced(rows: list[Any], when: Callable[[Any], datetime], tz: ZoneInfo) -> Iterator[tuple[str, Any]]:
    day, seq, stamp = None, 0, ""
    for row in rows:
        d = when(row).astimezone(tz).date()
        if d != day:
            day, seq, stamp = d, 0, f"{d:%Y%m%d}"
        seq += 1
        yield f"{stamp}{seq:05d}", row
