"""What the CLI sub-commands (``csbot qa``, ``why``, ``staffing``, ``faq``, ``digest``, …) print: their
output is the product, so it goes to stdout/stderr, never to the log."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from typing import Any, TextIO


def say(text: str, stream: TextIO | None = None, end: str = "\n") -> None:
    """One line of a command's output to ``stream`` (stdout unless given), flushed at once."""
    stream = stream or sys.stdout
    stream.write(text + end)
    stream.flush()


def ask_and_print(make_bot: Callable[[Any], Any], settings: Any, command: str) -> int:  # noqa: ANN401
    """Answer a chat command as the console would and print its text; the exit status (0 answered,
    1 refused or not understood)."""
    reply = asyncio.run(make_bot(settings).ask(command))
    if reply is None:
        return 1
    say(reply.render_text())
    return 0 if reply.ok else 1
