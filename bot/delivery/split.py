"""Split or trim message bodies to a platform's byte limit, measured on UTF-8 bytes.

Vendors count bytes, not characters: 2048 Chinese characters are 6144 bytes and get rejected
(WeCom ``40058``, DingTalk "body 大小不合法"). Splitting never cuts a character in half and
prefers a line break, then a sentence end, then a space, before falling back to a hard cut on a
character boundary. When a body is embedded in JSON, pass ``cost=json_cost`` so escapes such as
``\\n`` and ``\\"`` are counted too.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

CharCost = Callable[[str], int]

TRIM_MARK = "…(已截断)"


def utf8_cost(ch: str) -> int:
    """Bytes one character takes in UTF-8."""
    return len(ch.encode("utf-8"))


def json_cost(ch: str) -> int:
    """Bytes one character takes inside a JSON string serialized with ``ensure_ascii=False``."""
    return len(json.dumps(ch, ensure_ascii=False).encode("utf-8")) - 2


# In a Feishu ``post`` every line is its own paragraph node, so a line break costs the node seam
# ``"}],[{"tag":"text","text":"`` once serialized.
POST_LINE_SEAM = len('"}],[{"tag":"text","text":"')


def post_cost(ch: str) -> int:
    """Bytes one character adds to a serialized Feishu ``post`` (JSON escapes, paragraph seams)."""
    return POST_LINE_SEAM if ch == "\n" else json_cost(ch)


def cost_for(platform: str) -> CharCost:
    """How a platform's limit counts text: WeCom limits the content bytes; DingTalk and Feishu
    limit the whole JSON body, so escapes (and Feishu's per-line nodes) count too."""
    return {"dingtalk": json_cost, "feishu": post_cost}.get(platform, utf8_cost)


def byte_len(text: str, cost: CharCost = utf8_cost) -> int:
    if cost is utf8_cost:
        return len(text.encode("utf-8"))
    return sum(cost(ch) for ch in text)


@dataclass(frozen=True)
class PlatformLimit:
    """The byte limit of one message kind, and how its bytes are counted."""

    platform: str
    kind: str
    max_bytes: int
    source: str


# Limits on the *content* field; the JSON envelope is checked separately by each sender.
LIMITS: dict[tuple[str, str], PlatformLimit] = {
    ("wecom", "text"): PlatformLimit("wecom", "text", 2048, "developer.work.weixin.qq.com/document/path/91770"),
    ("wecom", "markdown"): PlatformLimit("wecom", "markdown", 4096, "developer.work.weixin.qq.com/document/path/91770"),
    ("wecom", "app_text"): PlatformLimit("wecom", "app_text", 2048, "developer.work.weixin.qq.com/document/path/90236"),
    # DingTalk limits the whole body to 20000 bytes; leave room for the envelope and title.
    ("dingtalk", "markdown"): PlatformLimit("dingtalk", "markdown", 18000, "github.com/ZhuLinsen/daily_stock_analysis/issues/61"),
    ("dingtalk", "text"): PlatformLimit("dingtalk", "text", 18000, "github.com/ZhuLinsen/daily_stock_analysis/issues/61"),
    # Feishu limits the request body to 20 KB; same reasoning.
    ("feishu", "text"): PlatformLimit("feishu", "text", 18000, "open.feishu.cn/document/client-docs/bot-v3/add-custom-bot"),
    ("feishu", "post"): PlatformLimit("feishu", "post", 18000, "open.feishu.cn/document/client-docs/bot-v3/add-custom-bot"),
}


def limit_for(platform: str, kind: str) -> int:
    return LIMITS[(platform, kind)].max_bytes


def text_limit(platform: str, destination_kind: str) -> int | None:
    """Byte limit of one text message to a destination (None: the platform has none, e.g. console).

    WeCom group robots get markdown (4096 bytes); WeCom app messages are text (2048 bytes);
    DingTalk and Feishu are bounded by their 20 KB body limit.
    """
    if platform == "wecom":
        return limit_for("wecom", "markdown" if destination_kind == "robot" else "app_text")
    if platform == "dingtalk":
        return limit_for("dingtalk", "markdown")
    if platform == "feishu":
        return limit_for("feishu", "post")
    return None


_BREAKS: tuple[tuple[str, ...], ...] = (
    ("\n\n",),
    ("\n",),
    ("。", "！", "？", "；", ". ", "! ", "? ", "; "),
    ("，", "、", ", ", " ", "\t"),
)


def _prefix_end(text: str, limit: int, cost: CharCost) -> int:
    """Largest ``i`` such that ``text[:i]`` costs at most ``limit`` bytes."""
    total = 0
    for i, ch in enumerate(text):
        total += cost(ch)
        if total > limit:
            return i
    return len(text)


def _best_cut(window: str) -> int:
    """Where to cut ``window`` (which fits): after the strongest break in its second half."""
    floor = len(window) // 2
    for group in _BREAKS:
        best = max((window.rfind(sep) + len(sep) for sep in group if window.rfind(sep) >= 0), default=-1)
        if best > floor:
            return best
    return len(window)


def split_text(text: str, limit: int, *, cost: CharCost = utf8_cost) -> list[str]:
    """Split ``text`` into parts of at most ``limit`` bytes each, preferring natural breaks.

    Joining the parts gives back ``text`` exactly except for line breaks dropped at the cut.
    """
    if limit < 8:  # one character costs at most 6 bytes (a JSON \u escape)
        raise ValueError("limit must leave room for at least one character")
    parts: list[str] = []
    rest = text
    while byte_len(rest, cost) > limit:
        end = _prefix_end(rest, limit, cost)
        cut = _best_cut(rest[:end])
        part = rest[:cut].rstrip("\n")
        if part:
            parts.append(part)
        rest = rest[cut:].lstrip("\n")
    if rest or not parts:
        parts.append(rest)
    return parts


def trim_text(text: str, limit: int, *, cost: CharCost = utf8_cost, mark: str = TRIM_MARK) -> str:
    """``text`` cut to at most ``limit`` bytes, ending with ``mark`` when something was cut."""
    if byte_len(text, cost) <= limit:
        return text
    room = limit - byte_len(mark, cost)
    if room <= 0:
        return text[: _prefix_end(text, limit, cost)]
    head = text[: _prefix_end(text, room, cost)]
    cut = _best_cut(head)
    return head[:cut].rstrip() + mark


def split_for(platform: str, kind: str, text: str, *, cost: CharCost = utf8_cost) -> list[str]:
    """Split ``text`` for one platform's message kind (see :data:`LIMITS`)."""
    return split_text(text, limit_for(platform, kind), cost=cost)
