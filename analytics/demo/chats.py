"""Conversations: who writes when, about what, to which agent; how fast the agent answers and how it ends."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from analytics.demo import dialog, manner, timeline
from analytics.demo import topics as T
from analytics.demo.orders import PICK_CHANNEL, PICK_PRODUCT, Customers, OrderInfo
from analytics.demo.phrases import CITIES, Weighted, body, pick, tracking_number
from analytics.demo.shop import (
    CHANNELS,
    EXPRESS,
    PRODUCT_BY_NAME,
    Agent,
    agents_on_duty,
)
from analytics.demo.topics import Facts

_CHANNEL_BY_NAME = {c.name: c for c in CHANNELS}
_PRE_SALE = Weighted(list(T.PRE_SALE), list(T.PRE_SALE.values()))
_POST_SALE = Weighted(list(T.POST_SALE), list(T.POST_SALE.values()))
_AFTER_PROMO_BOOST = (T.WHERE, T.STUCK, T.SHIP_TIME)
_POST_SALE_AFTER_PROMO = Weighted(list(T.POST_SALE), [w * (2.0 if t in _AFTER_PROMO_BOOST else 1.0)
                                                      for t, w in T.POST_SALE.items()])
_ON_DUTY = [Weighted(agents_on_duty(h), [a.weight for a in agents_on_duty(h)]) for h in range(24)]


@dataclass(slots=True)
class ChatPlan:
    start: datetime
    agent: Agent
    channel: str
    shop: str
    customer_id: str
    facts: Facts
    frt: int
    rating: int | None
    script: dialog.Script
    conversation_id: str = ""


class RecentOrders:
    """Orders of the last few weeks, for post-sale chats to refer to."""

    def __init__(self) -> None:
        self.by_day: dict[date, list[OrderInfo]] = {}

    def add(self, d: date, orders: list[OrderInfo]) -> None:
        self.by_day[d] = orders

    def pick(self, rng: random.Random, d: date, product: str | None = None) -> OrderInfo | None:
        for _ in range(4):
            back = 1 + min(19, int(rng.expovariate(1 / 4)))
            day = self.by_day.get(d - timedelta(days=back))
            if not day:
                continue
            if product is None:
                return day[rng.randrange(len(day))]
            matching = [o for o in day[:400] if o.product.name == product]
            if matching:
                return matching[rng.randrange(len(matching))]
        return None


def response_load(d: date, hour: int, promo: date) -> float:
    """How much slower first responses get at this hour (busy peaks, the promotion and its backlog)."""
    weights = timeline.hour_weights(d, promo)
    load = 0.7 + 0.55 * weights[hour] / max(weights)
    if d == promo:
        load *= 3.0
    elif 0 < (d - promo).days <= 3:
        load *= 1.4
    return load


def _first_response(rng: random.Random, agent: Agent, load: float) -> int:
    seconds = agent.speed * load * math.exp(rng.gauss(0.0, 0.65))
    if rng.random() < 0.03:
        seconds *= rng.uniform(5, 20)  # the chat sat unnoticed in a queue
    return max(2, int(seconds))


def _rating(rng: random.Random, agent: Agent, frt: int, resolved: bool, topic: str, transferred: bool) -> int:
    """1-5 stars: the agent's manner, minus waiting (beyond ~45 s it hurts, and more the longer), an unsolved problem,
    an unhappy topic and being passed on."""
    score = 4.85 + agent.rating_bias - T.RATING_PENALTY.get(topic, 0.0)
    if frt > 45:
        score -= min(1.6, 0.45 * math.log2(frt / 45))
    if not resolved:
        score -= 1.0
    if transferred:
        score -= 0.3
    return max(1, min(5, round(score + rng.gauss(0.0, 0.6))))


def _topic(rng: random.Random, d: date, promo: date) -> tuple[str, bool]:
    offset = (d - promo).days
    post_share = 0.55 + (0.15 if 0 < offset <= 6 else 0.0) - (0.15 if -3 <= offset <= 0 else 0.0)
    if rng.random() >= post_share:
        return _PRE_SALE(rng), False
    return (_POST_SALE_AFTER_PROMO if 0 < offset <= 6 else _POST_SALE)(rng), True


def _facts(rng: random.Random, topic: str, order: OrderInfo | None, channel: str, promo_day: bool) -> Facts:
    if order is not None:
        product, color, size = order.product, order.color, order.size
    else:
        product = PICK_PRODUCT(rng)
        color = pick(rng, product.colors)
        size = pick(rng, product.sizes) if product.sizes else ""
    express = "京东快递" if channel == "京东" else ("顺丰" if rng.random() < 0.15 else pick(rng, EXPRESS))
    height, weight = body(rng)
    return Facts(topic=topic, product=product, shop=product.shop, channel=channel, color=color, size=size,
                 order_id=order.order_id if order else None, express=express, tracking=tracking_number(rng, express),
                 city=pick(rng, CITIES), resolved=True, transferred=False, promo=promo_day,
                 height=height, weight=weight)


_RESOLVE_FACTOR = {T.SERVICE: 0.7, T.STUCK: 0.6, T.QUALITY: 0.85, T.REFUND: 0.8, T.PRICE_PROTECT: 0.85}
_TRANSFER_TOPICS = {T.QUALITY, T.REFUND, T.SERVICE, T.RETURN}


def plan_chat(rng: random.Random, start: datetime, d: date, promo: date, recent: RecentOrders, customers: Customers,
              *, topic: str | None = None, product: str | None = None, slow: float = 1.0) -> ChatPlan:
    """One conversation starting at ``start``; ``topic``/``product`` force what it is about (the spike)."""
    post = True
    if topic is None:
        topic, post = _topic(rng, d, promo)
    order = recent.pick(rng, d, product) if post else None
    if order is None and topic in T.POST_SALE and topic not in T.PRE_SALE and product is None:
        topic = _PRE_SALE(rng)
    channel = order.channel if order else PICK_CHANNEL(rng).name
    facts = _facts(rng, topic, order, channel, d == promo)
    if product is not None and order is None:
        facts.product = PRODUCT_BY_NAME[product]
        facts.shop = facts.product.shop
        facts.color = pick(rng, facts.product.colors)
        facts.size = pick(rng, facts.product.sizes) if facts.product.sizes else ""
    if topic == T.SIZE and not facts.product.sizes:  # a scarf or a pillow has no size to ask about
        topic = facts.topic = T.STOCK
    agent = _ON_DUTY[start.hour](rng)
    frt = _first_response(rng, agent, response_load(d, start.hour, promo) * slow)
    resolve_p = agent.resolve_rate * _RESOLVE_FACTOR.get(topic, 1.0) * (0.9 if d == promo else 1.0) / slow
    facts.resolved = rng.random() < resolve_p
    facts.transferred = rng.random() < (0.12 if topic in _TRANSFER_TOPICS else 0.03)
    rated = rng.random() < _CHANNEL_BY_NAME[channel].rating_share
    rating = _rating(rng, agent, frt, facts.resolved, topic, facts.transferred) if rated else None
    customer_id = order.customer_id if order else customers.pick()
    script = manner.apply(agent.name, start, dialog.build(rng, facts, frt=frt, pace=agent.speed * 1.2, shop=facts.shop))
    return ChatPlan(start=start, agent=agent, channel=channel, shop=facts.shop, customer_id=customer_id, facts=facts,
                    frt=frt, rating=rating, script=script)


def day_chats(rng: random.Random, d: date, tz: ZoneInfo, now: datetime, expected: float, promo: date,
              recent: RecentOrders, customers: Customers) -> list[ChatPlan]:
    """The chats of local day ``d`` that start before ``now``."""
    hours = timeline.hour_starts(d, tz)
    weights = timeline.hour_weights(d, promo)
    total_w = sum(weights[h.hour] for h in hours)
    plans: list[ChatPlan] = []
    for h in hours:
        for _ in range(timeline.poisson(rng, expected * weights[h.hour] / total_w)):
            start = h + timedelta(seconds=rng.randrange(3600))
            if start < now:
                plans.append(plan_chat(rng, start, d, promo, recent, customers))
    return plans
