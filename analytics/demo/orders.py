"""Orders, returns and reviews: customers (a loyal core and a long tail, so 复购率 means something), products by
popularity, prices with coupons and promotion discounts, returns and reviews that follow each product's traits."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from analytics.demo import feedback, timeline
from analytics.demo.phrases import Weighted, pick
from analytics.demo.shop import CHANNELS, PRODUCTS, Product

ORDERS_PER_CONVERSATION = 1.15
REGULAR_SHARE = 0.3  # share of orders placed by the loyal core
REVIEW_SHARE = 0.3


@dataclass(slots=True)
class OrderInfo:
    """An order as the chat side needs it (the record is built from it)."""

    order_id: str
    created_at: datetime
    customer_id: str
    channel: str
    product: Product
    color: str
    size: str
    quantity: int
    amount: float


class Customers:
    def __init__(self, rng: random.Random, scale: float):
        self.rng = rng
        self.regulars = max(20, int(3000 * scale))
        self.pool = max(200, int(150_000 * scale))

    def pick(self) -> str:
        if self.rng.random() < REGULAR_SHARE:
            n = self.rng.randrange(self.regulars)
        else:
            n = self.regulars + self.rng.randrange(self.pool)
        return f"U{n + 1:07d}"


PICK_PRODUCT = Weighted(PRODUCTS, [p.weight for p in PRODUCTS])
PICK_CHANNEL = Weighted(CHANNELS, [c.weight for c in CHANNELS])


def _amount(rng: random.Random, p: Product, qty: int, promo: bool) -> float:
    total = p.price * qty
    if promo:
        total *= 0.8
    elif rng.random() < 0.15:
        total *= pick(rng, (0.9, 0.85, 0.95))
    if total >= 300 and rng.random() < 0.6:
        total -= 30
    return round(total, 2)


def day_orders(rng: random.Random, d: date, tz: ZoneInfo, now: datetime, expected: float, promo: date,
               customers: Customers) -> list[OrderInfo]:
    """The orders of local day ``d`` in time order, with ids O<yyyymmdd><seq>."""
    hours = timeline.hour_starts(d, tz)
    weights = timeline.hour_weights(d, promo)
    total_w = sum(weights[h.hour] for h in hours)
    stamps: list[datetime] = []
    for h in hours:
        for _ in range(timeline.poisson(rng, expected * weights[h.hour] / total_w)):
            t = h + timedelta(seconds=rng.randrange(3600))
            if t < now:
                stamps.append(t)
    stamps.sort()
    out = []
    for seq, t in enumerate(stamps, 1):
        p = PICK_PRODUCT(rng)
        qty = 1 if rng.random() < 0.85 else 2 if rng.random() < 0.8 else 3
        out.append(OrderInfo(
            order_id=f"O{d:%Y%m%d}{seq:05d}", created_at=t, customer_id=customers.pick(),
            channel=PICK_CHANNEL(rng).name, product=p, color=pick(rng, p.colors),
            size=pick(rng, p.sizes) if p.sizes else "", quantity=qty, amount=_amount(rng, p, qty, d == promo),
        ))
    return out


def order_record(o: OrderInfo) -> dict:
    sku = f"{o.product.code}-{o.color}" + (f"-{o.size}" if o.size else "")
    return {"order_id": o.order_id, "created_at": o.created_at, "customer_id": o.customer_id, "channel": o.channel,
            "product": o.product.name, "sku": sku, "amount": o.amount, "quantity": o.quantity}


def _review_rating(rng: random.Random, p: Product, returned_for_quality: bool) -> int:
    if returned_for_quality:
        return 1 if rng.random() < 0.6 else 2
    x = rng.random()
    if x < p.bad_review_rate:
        return 1 if rng.random() < 0.55 else 2
    if x < p.bad_review_rate + 0.07:
        return 3
    return 4 if x < p.bad_review_rate + 0.27 else 5


def aftermath(rng: random.Random, o: OrderInfo, now: datetime, promo: bool) -> tuple[dict | None, dict | None]:
    """The order's return and review, when they happen before ``now`` (ids are assigned later)."""
    ret = rev = None
    quality = rng.random() < 0.45
    if rng.random() < o.product.return_rate * (1.4 if promo else 1.0):
        t = o.created_at + timedelta(days=rng.uniform(2, 12))
        if t < now:
            share = 1.0 if rng.random() < 0.85 or o.quantity == 1 else 1 / o.quantity
            ret = {"order_id": o.order_id, "created_at": t, "reason": feedback.return_reason(rng, o.product, quality),
                   "product": o.product.name, "amount": round(o.amount * share, 2)}
    if rng.random() < REVIEW_SHARE:
        t = o.created_at + timedelta(days=rng.uniform(3, 15))
        if t < now:
            rating = _review_rating(rng, o.product, ret is not None and quality)
            rev = {"created_at": t, "rating": rating, "order_id": o.order_id, "product": o.product.name,
                   "text": feedback.review_text(rng, o.product, rating)}
    return ret, rev
