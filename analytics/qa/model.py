"""The values the 质检 rules read and return: one conversation's lines, the parameters, a finding."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

#: Stable rule ids, in the order reports list them when counts tie.
RULES = ("impolite", "repeat_contact", "negative_end", "slow_first_response", "long_gap", "broken_promise",
         "transfer_bounce", "no_greeting", "no_closing")

#: Points a conversation loses per rule (score = 100 − the sum, floored at 0); see docs/qa.md.
WEIGHTS = {"impolite": 30, "repeat_contact": 15, "negative_end": 15, "slow_first_response": 10, "long_gap": 10,
           "broken_promise": 10, "transfer_bounce": 10, "no_greeting": 5, "no_closing": 5}

#: Chinese names, as chat answers print them.
RULE_NAMES = {"impolite": "服务用语不礼貌", "repeat_contact": "未解决导致重复咨询", "negative_end": "客户负面情绪结束",
              "slow_first_response": "首响超时", "long_gap": "回复中断过久", "broken_promise": "承诺稍等后未及时回复",
              "transfer_bounce": "转接未解决", "no_greeting": "缺少问候语", "no_closing": "缺少结束语"}

#: What a 专题培训 on the rule covers.
TRAINING = {"impolite": "服务用语与情绪管理（禁用语、把「你自己看」换成「我帮您查」）",
            "repeat_contact": "一次解决率（确认问题已解决再结束、主动给出后续方案）",
            "negative_end": "安抚与挽回话术（道歉、补偿方案、确认客户满意）",
            "slow_first_response": "首响时效（快捷短语、接待上限、排队时先问候）",
            "long_gap": "会话跟进节奏（查询超过 1 分钟先告知进度）",
            "broken_promise": "承诺管理（说「稍等」后按时回复，超时先致歉）",
            "transfer_bounce": "转接规范（转前确认对口、转后跟进到解决）",
            "no_greeting": "标准开场白（您好/亲 + 自报家门）",
            "no_closing": "标准结束语（确认是否还有问题、致谢、邀评）"}


@dataclass(frozen=True)
class Line:
    """One message of a conversation, in time order (``index`` is its position)."""

    index: int
    message_id: str
    sent_at: datetime
    sender: str  # customer / agent / bot
    text: str
    sentiment_label: str | None = None  # customer lines: pos / neu / neg (stored at import)


@dataclass(frozen=True)
class Conversation:
    """What the rules read of one conversation."""

    conversation_id: str
    agent: str
    started_at: datetime
    lines: tuple[Line, ...] = ()
    customer_id: str | None = None
    ended_at: datetime | None = None
    first_response_seconds: float | None = None
    resolved: bool | None = None
    transferred: bool | None = None
    rating: int | None = None

    def by(self, sender: str) -> list[Line]:
        return [line for line in self.lines if line.sender == sender]

    @property
    def last_time(self) -> datetime:
        """When the conversation was last active: its end, else its last line, else its start."""
        if self.ended_at is not None:
            return self.ended_at
        return self.lines[-1].sent_at if self.lines else self.started_at


@dataclass(frozen=True)
class Finding:
    """A rule that fired on a conversation, with the lines (indexes into ``lines``) that made it fire."""

    rule: str
    lines: tuple[int, ...] = ()
    detail: str = ""  # a short fact: "等待 312 秒", or the id of the conversation that followed

    def message_ids(self, conversation: Conversation) -> list[str]:
        return [conversation.lines[i].message_id for i in self.lines if i < len(conversation.lines)]


@dataclass(frozen=True)
class QAParams:
    """``[qa]`` settings the rules read."""

    first_response_target_seconds: float = 60.0
    gap_target_seconds: float = 180.0
    repeat_window_hours: float = 24.0
    extra_impolite_words: tuple[str, ...] = field(default_factory=tuple)
    training_min_agents: int = 3  # 专题培训 when at least this many agents share a problem …
    training_agent_share: float = 0.5  # … and they are at least this share of the active agents


def score(rules: set[str] | list[str] | tuple[str, ...]) -> int:
    """A conversation's 质检 score: 100 minus the weights of the distinct rules that fired, at least 0."""
    return max(0, 100 - sum(WEIGHTS.get(rule, 0) for rule in set(rules)))
