"""Turn the demo world into rows with the canonical import columns of SPEC.md (aware timestamps)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from analytics.demo.chats import ChatPlan
from analytics.demo.feedback import KB_ENTRIES
from analytics.demo.generator import World
from analytics.demo.orders import order_record


def _kept(chat: ChatPlan, world: World) -> list[tuple[int, str, str]]:
    """The chat's messages sent before ``now`` (a chat that started minutes ago is still going on)."""
    limit = (world.now - chat.start).total_seconds()
    return [m for m in chat.script if m[0] < limit]


def conversation_record(chat: ChatPlan, world: World) -> dict:
    kept = _kept(chat, world)
    ended = len(kept) == len(chat.script)
    answered = any(sender == "agent" for _, sender, _ in kept)
    return {
        "conversation_id": chat.conversation_id,
        "started_at": chat.start,
        "agent": chat.agent.name,
        "channel": chat.channel,
        "shop": chat.shop,
        "customer_id": chat.customer_id,
        "ended_at": chat.start + timedelta(seconds=kept[-1][0]) if ended else None,
        "first_response_seconds": chat.frt if answered else None,
        "resolved": chat.facts.resolved if ended else None,
        "rating": chat.rating if ended else None,
        "transferred": chat.facts.transferred if ended else None,
        "topic": chat.facts.topic,
    }


def conversations(world: World) -> Iterator[dict]:
    return (conversation_record(c, world) for c in world.chats)


def messages(world: World) -> Iterator[dict]:
    """Messages chat by chat, in the same order as the conversations (generated lazily: they are the bulk)."""
    for chat in world.chats:
        digits = chat.conversation_id[1:]
        for i, (offset, sender, text) in enumerate(_kept(chat, world), 1):
            yield {"message_id": f"M{digits}{i:02d}", "conversation_id": chat.conversation_id,
                   "sent_at": chat.start + timedelta(seconds=offset), "sender": sender, "text": text}


def complaints(world: World) -> list[dict]:
    out = []
    for c in world.complaints:
        row = {k: v for k, v in c.items() if k != "_chat"}
        row["conversation_id"] = c["_chat"].conversation_id if c["_chat"] is not None else None
        out.append(row)
    return out


def kb() -> list[dict]:
    return [{"kb_id": f"KB{i:04d}", "question": q, "answer": a, "tags": tags}
            for i, (q, a, tags) in enumerate(KB_ENTRIES, 1)]


def all_records(world: World) -> dict[str, Iterator[dict] | list[dict]]:
    """Every kind, in an order that lets each row's references exist first (conversations before messages).
    The bulky kinds (conversations, messages, orders) are one-shot iterators; the others are lists."""
    return {
        "conversations": conversations(world),
        "messages": messages(world),
        "complaints": complaints(world),
        "orders": (order_record(o) for o in world.orders),
        "returns": [dict(r) for r in world.returns],
        "reviews": [dict(r) for r in world.reviews],
        "kb": kb(),
    }


def totals(world: World) -> dict[str, int]:
    """How many rows of each kind ``all_records`` yields (for progress bars; the iterators are lazy)."""
    return {
        "conversations": len(world.chats),
        "messages": sum(len(_kept(c, world)) for c in world.chats),
        "complaints": len(world.complaints),
        "orders": len(world.orders),
        "returns": len(world.returns),
        "reviews": len(world.reviews),
        "kb": len(KB_ENTRIES),
    }
