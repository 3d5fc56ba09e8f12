"""/帮助: generated from the command specs, so it can never drift from what the bot does."""

from __future__ import annotations

from handlers.base import CommandContext, CommandError, CommandSpec, Reply

SPEC = CommandSpec(
    name="帮助",
    aliases=("help", "h", "?", "？", "菜单", "命令"),
    usage="/帮助 [命令]",
    help="列出全部命令；/帮助 满意度 查看某个命令的用法",
    group="其他",
    takes_period=False,
    filters=(),
    examples=("/帮助", "/帮助 首响"),
)

_FOOTER = ("时间：今天 昨天 本周 上周 本月 上月 近7天 近24小时 11月1日-11月7日 2026-11 …（默认见各命令）\n"
           "筛选：渠道=淘宝 客服=小王 店铺=旗舰店 商品=羽绒服；加 ? 或「说明」查看口径")


def overview(specs: list[CommandSpec]) -> str:
    lines = ["**csbot 命令**"]
    for spec in specs:
        lines.append(f"/{spec.name} — {spec.help}")
    lines.append(_FOOTER)
    return "\n".join(lines)


def detail(spec: CommandSpec) -> str:
    lines = [f"**/{spec.name}** — {spec.help}", f"用法：{spec.usage}"]
    if spec.aliases:
        lines.append("别名：" + " ".join("/" + a for a in spec.aliases))
    if spec.takes_period:
        lines.append(f"默认时间：{spec.default_period}")
    if spec.filters:
        lines.append("筛选：" + " ".join(f"{f}=…" for f in spec.filters))
    if spec.examples:
        lines.append("例子：" + "；".join(spec.examples))
    return "\n".join(lines)


async def handle(ctx: CommandContext) -> Reply:
    from handlers.registry import load_commands

    specs = [c.spec for c in load_commands()]
    if not ctx.args:
        return Reply(overview(specs), title="帮助")
    wanted = ctx.args[0].lstrip("/")
    for spec in specs:
        if wanted == spec.name or wanted.lower() in (a.lower() for a in spec.aliases):
            return Reply(detail(spec), title=f"帮助 · {spec.name}")
    raise CommandError(f"没有命令「{wanted}」。发送 /帮助 查看全部命令。")
