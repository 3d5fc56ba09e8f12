"""The reference adapter: replies are written to a text stream and kept for inspection.

``csbot chat`` talks to the Bot directly; this Sender is what the contract test, digests run from
the CLI (``csbot digest`` without ``--send``) and local tries use to see what would be delivered.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

from bot.adapters.base import Destination, IncomingMessage, Sender, SendError
from handlers.base import Reply

PLATFORM = "console"
MAX_TEXT_BYTES = 100_000  # keeps a runaway reply from flooding a terminal; split like a real platform


@dataclass(frozen=True)
class Delivered:
    destination: Destination
    reply: Reply
    text: str


def parse_line(line: str, *, user_id: str = "console", chat_id: str = "console",
               message_id: str = "") -> IncomingMessage | None:
    """A typed line as an IncomingMessage (a 1:1 chat with the bot); None for a blank line."""
    text = line.strip()
    if not text:
        return None
    return IncomingMessage(platform=PLATFORM, message_id=message_id or f"console-{uuid.uuid4().hex}", chat_id=chat_id,
                           user_id=user_id, text=text, is_private=True)


def split_utf8(text: str, limit: int) -> list[str]:
    """Pieces of ``text`` of at most ``limit`` UTF-8 bytes, cut on line breaks where possible."""
    pieces: list[str] = []
    current = ""
    for line in text.split("\n"):
        candidate = line if not current else f"{current}\n{line}"
        if len(candidate.encode("utf-8")) <= limit:
            current = candidate
            continue
        if current:
            pieces.append(current)
        while len(line.encode("utf-8")) > limit:
            cut = len(line.encode("utf-8")[:limit].decode("utf-8", "ignore"))
            pieces.append(line[:cut])
            line = line[cut:]
        current = line
    pieces.append(current)
    return pieces


class ConsoleSender(Sender):
    """Writes each reply to ``stream`` (None: keep silent) and records it in ``delivered``.

    ``fail_with`` lets a caller simulate a platform failure: a callable returning a
    :class:`SendError` (or None) for a destination.
    """

    platform = PLATFORM

    def __init__(self, stream: TextIO | None = sys.stdout, *, limit_bytes: int = MAX_TEXT_BYTES,
                 fail_with: Callable[[Destination], SendError | None] | None = None):
        self.stream = stream
        self.limit_bytes = limit_bytes
        self.fail_with = fail_with
        self.delivered: list[Delivered] = []

    async def send(self, destination: Destination, reply: Reply) -> None:
        if self.fail_with is not None:
            error = self.fail_with(destination)
            if error is not None:
                raise error
        for piece in split_utf8(reply.render_text(), self.limit_bytes):
            self.delivered.append(Delivered(destination, reply, piece))
            if self.stream is not None:
                self.stream.write(f"[{destination.key}]\n{piece}\n")
                self.stream.flush()
