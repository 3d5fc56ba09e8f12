"""/删除客户: delete one customer's data everywhere (个人信息保护法: deletion on request), in two steps.

    /删除客户 U123          what would be deleted (counts), and the confirm line to send
    /删除客户 U123 确认      delete: conversations, messages, orders, returns, reviews, complaints, 质检 rows;
                            the id and texts redacted from audit excerpts, outbox texts, FAQ phrasings …

Admin-only. The audit log keeps ``客户#<hash>`` (:func:`analytics.privacy.reference`), never the id, so the
trail of the deletion is no trace of the customer. The work runs in a thread (``asyncio.to_thread``).
"""

from __future__ import annotations

import asyncio
import re

from analytics.privacy import Forgotten, forget_customer, reference
from handlers.base import CommandContext, CommandError, CommandSpec, Reply

CONFIRM = ("确认", "confirm")
KIND_NAMES = {"conversations": "会话", "messages": "消息", "orders": "订单", "returns": "退货", "reviews": "评价",
              "complaints": "投诉"}
_ID = re.compile(r"^\S{1,128}$")  # platform buyer ids may be nicknames (tb_小明)


def audit_text(text: str) -> str:
    """The typed command with the customer id replaced by its one-way reference."""
    words = text.split()
    return " ".join(reference(w) if i and w not in CONFIRM and not w.startswith("/") else w
                    for i, w in enumerate(words))


SPEC = CommandSpec(
    name="删除客户",
    aliases=("forget", "删除客户数据"),
    usage="/删除客户 客户编号 [确认]",
    help="删除一位客户在各处的数据（会话、消息、订单、退货、评价、投诉，及审计、推送、知识库建议中的内容）；先预览再确认（仅管理员）",
    group="其他",
    takes_period=False,
    filters=(),
    free_args=True,
    admin_only=True,
    slash_only=True,
    examples=("/删除客户 U123", "/删除客户 U123 确认"),
    audit_text=audit_text,
)


def _counts(result: Forgotten) -> str:
    return "，".join(f"{name} {result.deleted[k]:,}" for k, name in KIND_NAMES.items() if result.deleted.get(k)) \
        or "没有数据行"


async def handle(ctx: CommandContext) -> Reply:
    words = list(ctx.args)
    confirm = bool(words) and words[-1] in CONFIRM
    ids = words[:-1] if confirm else words
    if len(ids) != 1 or not _ID.match(ids[0]):
        raise CommandError("用法：/删除客户 客户编号（先预览），再发送 /删除客户 客户编号 确认 执行删除。")
    customer = ids[0]
    engine = ctx.services.engine
    if not confirm:
        preview = await asyncio.to_thread(forget_customer, engine, customer, dry_run=True)
        return Reply(f"将删除 {preview.reference} 的数据：{_counts(preview)}；并抹去审计记录、推送记录、知识库建议等处"
                     f"提到该客户的内容。汇总指标随之更新，不可撤销。\n确认请发送：/删除客户 {customer} 确认",
                     title="删除客户")
    done = await asyncio.to_thread(forget_customer, engine, customer)
    redacted = sum(done.redacted.values())
    return Reply(f"已删除 {done.reference} 的数据：{_counts(done)}；其他表中抹去 {redacted} 行提及。"
                 f"审计记录只保存 {done.reference}。", title="删除客户")
