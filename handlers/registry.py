"""Every chat command, in the order help lists them."""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from handlers.base import CommandSpec, Handler

COMMAND_MODULES = (
    "satisfaction", "complaints", "first_response", "resolution", "returns", "repurchase",
    "bad_reviews", "sales", "sentiment", "volume", "hot_words", "agents", "peak", "overview",
    "why",
    "knowledge",
    "quality",
    "staffing",
    "daily_digest",
    "weekly_digest",
    "subscribe", "subscription_list", "subscription_pause", "subscription_resume", "unsubscribe",
    "alerts_list", "alert_claim", "alert_silence", "alert_unsilence",
    "forget_customer",
    "help",
)


@dataclass(frozen=True)
class Command:
    spec: CommandSpec
    handle: Handler

    @property
    def names(self) -> tuple[str, ...]:
        return (self.spec.name, *self.spec.aliases)


def load_commands() -> list[Command]:
    commands = []
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"handlers.{name}")
        commands.append(Command(module.SPEC, module.handle))
    return commands
