"""Text → command: slash commands, aliases, did-you-mean, and free text in any order.

``/首响 昨天 渠道=淘宝``, ``首响 昨天 淘宝`` and ``昨天淘宝的首响怎么样`` all parse to the same
command, period and filters. A message naming two metrics gets a short question back.

Nothing the user typed is dropped: a filter the command cannot apply and a filter value no row has
are refused in words (with a did-you-mean), and free text with words left over after the command,
period, filters and filler words is not understood rather than answered as a guess.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from analytics.metrics import DISTINCT_LIMIT, FILTER_ALIASES, FILTER_KEYS
from analytics.periods import extract_period
from handlers.base import CommandError
from handlers.format import unknown_value, unsupported_filter
from handlers.registry import Command

_FILTER_NAMES = {**{k: k for k in FILTER_KEYS}, **FILTER_ALIASES}
_FILTER_RE = re.compile(
    r"(" + "|".join(sorted(map(re.escape, _FILTER_NAMES), key=len, reverse=True)) + r")\s*[=＝:：]\s*([^\s,，;；]+)",
    re.IGNORECASE,
)
_EXPLAIN_RE = re.compile(r"[?？]\s*$|说明|口径|怎么算|定义|什么意思|含义")
_GRANULARITY = {"按天": "day", "按日": "day", "按周": "week", "按月": "month"}
_FILLER_RE = re.compile(
    r"的|多少|怎么样|如何|是多少|是|吗|呢|吧|啊|呀|了|查一下|查查|查询|查|看看|看一下|看|一下|帮我|请问|请|给我|情况|数据|"
    r"几|有|啥|什么|咋样|咱们|我们|现在|目前|一共|总共|报告|统计|下|你好|您好|麻烦|谢谢|怎样|表现|水平|整体|总体|"
    r"多不多|高不高|低不低|快不快|慢不慢|好不好|[，,。.!！~～\s]"
)
#: Punctuation and symbols carry no meaning in free text; what is left after them must be understood.
_SYMBOLS_RE = re.compile(r"[\s\"'“”‘’`、;；:：?？!！,，.。~～()（）\[\]【】<>《》\-—_=+*/\\|@#$%^&]+")
#: Columns whose bare values are recognised only by commands that take them (see _take_known_values).
_EXPLICIT_ONLY = {"category"}
#: A weak command is dropped when a stronger one is also named ("会话的满意度" → 满意度).
_WEAK = {"会话量", "客服"}


class UnknownFilterValue(CommandError):
    """A filter value that no row carries (``渠道=拼多多``); its message has a did-you-mean."""

    def __init__(self, column: str, value: str, known: list[str]):
        super().__init__(unknown_value(column, value, known))
        self.column, self.value = column, value


#: Names the metric it asks about: wins over the metric's own command in free text.
_WHY = "为什么"


@dataclass
class Parsed:
    command: Command
    args: list[str] = field(default_factory=list)
    period_phrase: str | None = None
    filters: dict[str, str] = field(default_factory=dict)
    granularity: str | None = None
    explain: bool = False


class Router:
    """Parses chat text against the command specs and known dimension values."""

    def __init__(self, commands: list[Command]):
        self.commands = commands
        self._by_name: dict[str, Command] = {}
        slash_only: set[str] = set()
        for cmd in commands:
            for name in cmd.names:
                self._by_name[name.lower()] = cmd
                if cmd.spec.slash_only:
                    slash_only.add(name.lower())
        # Names usable inside free text: Chinese names, and ASCII words of 3+ letters.
        self._free_names = sorted(
            (n for n in self._by_name if n not in slash_only
             and (re.search(r"[\u4e00-\u9fff]", n) or (n.isascii() and n.isalpha() and len(n) >= 3))),
            key=len, reverse=True,
        )

    def parse(self, text: str, known_values: dict[str, list[str]] | None = None) -> Parsed | None:
        """Parse ``text``; None when it names no command. Raises CommandError for a bad slash command."""
        text = text.strip()
        if not text:
            return None
        known = known_values or {}
        parsed = self._parse_slash(text[1:].strip(), known) if text[0] in "/／" else self._parse_free(text, known)
        if parsed is not None:
            self._check_filters(parsed, known)
        return parsed

    @staticmethod
    def _check_filters(parsed: Parsed, known: dict[str, list[str]]) -> None:
        """Refuse a filter the command cannot apply, then a value no row has (did-you-mean from ``known``).

        A known-value list of :data:`DISTINCT_LIMIT` or more may be cut short, so it refuses nothing."""
        spec = parsed.command.spec
        allowed = {FILTER_KEYS[cn] for cn in spec.filters}
        for column in parsed.filters:
            if column not in allowed:
                raise CommandError(unsupported_filter(spec.name, column, list(spec.filters)))
        for column, value in parsed.filters.items():
            values = known.get(column)
            if values and len(values) < DISTINCT_LIMIT and value not in values:
                raise UnknownFilterValue(column, value, values)

    def lookup(self, name: str) -> Command | None:
        return self._by_name.get(name.lower())

    # -- slash commands -------------------------------------------------------------------------
    def _parse_slash(self, body: str, known: dict[str, list[str]]) -> Parsed:
        head, _, rest = body.partition(" ")
        cmd = self.lookup(head)
        if cmd is None:
            cmd, rest = self._prefix_match(head, rest)
        if cmd is None:
            raise CommandError(self._unknown(head))
        parsed = Parsed(cmd)
        rest = self._take_options(rest, parsed)
        if not cmd.spec.takes_period:
            parsed.args = rest.split()
            return parsed
        phrase, leftover = extract_period(rest)
        leftover = self._take_known_values(leftover, parsed, known)
        leftover = " ".join(re.sub(r"[的，,。；;]", " ", leftover).split())
        if leftover and cmd.spec.free_args:
            parsed.args = leftover.split()
        elif leftover:
            if phrase is not None:
                raise CommandError(f"看不懂「{leftover}」。筛选请写成 渠道=淘宝、客服=小王、商品=…；"
                                   f"发送 /帮助 {cmd.spec.name} 查看用法。")
            phrase = leftover  # resolving it produces the Chinese error with examples
        parsed.period_phrase = phrase
        return parsed

    def _prefix_match(self, head: str, rest: str) -> tuple[Command | None, str]:
        for name in sorted(self._by_name, key=len, reverse=True):
            if len(name) >= 2 and head.lower().startswith(name) and not name.isascii():
                return self._by_name[name], (head[len(name):] + " " + rest).strip()
        return None, rest

    def _unknown(self, head: str) -> str:
        names = [c.spec.name for c in self.commands]
        guess = difflib.get_close_matches(head, list(self._by_name), n=1, cutoff=0.5)
        if not guess:
            guess = [n for n in names if head and (head in n or n in head)]
        if guess:
            target = self._by_name[guess[0].lower()].spec.name
            return f"没有命令 /{head}。你是不是想找 /{target}？发送 /帮助 查看全部命令。"
        return f"没有命令 /{head}。发送 /帮助 查看全部命令，例如 /满意度 本周。"

    # -- free text -----------------------------------------------------------------------------
    def _parse_free(self, text: str, known: dict[str, list[str]]) -> Parsed | None:
        found: dict[str, Command] = {}
        options = Parsed(self.commands[0])
        rest = self._take_options(text, options)
        for name in self._free_names:
            pattern = re.escape(name) if not name.isascii() else rf"\b{re.escape(name)}\b"
            if re.search(pattern, rest, re.IGNORECASE):
                cmd = self._by_name[name]
                found.setdefault(cmd.spec.name, cmd)
                rest = re.sub(pattern, " ", rest, flags=re.IGNORECASE)
        if len(found) > 1:
            for weak in _WEAK:
                found.pop(weak, None)
        if _WHY in found:  # "为什么满意度下降了": the metric named is what /为什么 explains (handlers/why.py reads it)
            found = {_WHY: found[_WHY]}
        if not found:
            return None
        if len(found) > 1:
            options = " 还是 ".join(f"/{n}" for n in found)
            raise CommandError(f"你想查 {options}？一次问一个指标，例如 /{next(iter(found))} 本周。")
        cmd = next(iter(found.values()))
        parsed = Parsed(cmd, filters=options.filters, granularity=options.granularity, explain=options.explain)
        if cmd.spec.takes_period:
            parsed.period_phrase, rest = extract_period(rest)
            leftover = _SYMBOLS_RE.sub(" ", _FILLER_RE.sub(" ", self._take_known_values(rest, parsed, known))).split()
            if leftover and cmd.spec.free_args:  # 客服 张三 本月: a name, checked by the command
                parsed.args = leftover
            elif leftover:  # "'; DROP TABLE conversations;--" names 会话量 but says nothing else we know
                return None
        else:
            parsed.args = [w for w in _FILLER_RE.sub(" ", rest).split() if w]
        return parsed

    # -- shared pieces --------------------------------------------------------------------------
    @staticmethod
    def _take_options(rest: str, parsed: Parsed) -> str:
        def _filter(m: re.Match[str]) -> str:
            key = _FILTER_NAMES.get(m.group(1)) or _FILTER_NAMES.get(m.group(1).lower(), m.group(1))
            parsed.filters[FILTER_KEYS[key]] = m.group(2)
            return " "

        rest = _FILTER_RE.sub(_filter, rest)
        if _EXPLAIN_RE.search(rest):
            parsed.explain = True
            rest = _EXPLAIN_RE.sub(" ", rest)
        for word, gran in _GRANULARITY.items():
            if word in rest:
                parsed.granularity = gran
                rest = rest.replace(word, " ")
        return rest

    @staticmethod
    def _take_known_values(rest: str, parsed: Parsed, known: dict[str, list[str]]) -> str:
        """Bare dimension values (``淘宝``, ``小王``) become filters. Complaint categories are everyday words
        (物流, 质量, 其他), so a bare one is a filter only for a command that takes 类别 (``投诉 物流``);
        elsewhere it stays a word, and ``类别=…`` is refused in words."""
        takes = {FILTER_KEYS[cn] for cn in parsed.command.spec.filters}
        candidates = [(value, column) for column, values in known.items() for value in values if value
                      and (column not in _EXPLICIT_ONLY or column in takes)]
        for value, column in sorted(candidates, key=lambda vc: len(vc[0]), reverse=True):
            if column in parsed.filters or value not in rest:
                continue
            parsed.filters[column] = value
            rest = rest.replace(value, " ", 1)
        return rest
