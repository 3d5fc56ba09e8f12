"""Finding a time phrase inside free chat text (``昨天淘宝的投诉`` → ``昨天``); see analytics.periods."""

from __future__ import annotations

import re
import unicodedata

from analytics.periods.parse import KEYWORD_INDEX

_D = "(?:\\d{1,2}|[零〇一二两三四五六七八九十]{1,3})"
_Y = "(?:\\d{4}|[零〇一二三四五六七八九]{4})"
_N = "(?:\\d{1,4}|[零〇一二两三四五六七八九十百千]{1,6})"
_XSEP = "(?:\\s*(?:~|〜|至|到|-|—|–)\\s*)"
_XFULL = rf"(?:{_Y}[-/.]{_D}[-/.]{_D}[日号]?|{_Y}年{_D}月{_D}[日号]?|{_D}月{_D}[日号]?)"
_XMONTH = rf"(?:{_Y}年{_D}月份?|{_Y}[-/.]{_D}(?![-/.\d])|{_D}月份?)"
_XWORDS = sorted({w.replace("1", "一") for w in KEYWORD_INDEX if w not in ("本季", "当季", "上季")}  # 本季新品 is no period
                 | {"历史", "全部时间", "所有时间", "有史以来", "双十一", "双十二", "双11", "双12"}, key=len, reverse=True)
_EXTRACT = re.compile("|".join([
    rf"(?<![\d.]){_XFULL}{_XSEP}(?:{_XFULL}|{_D}[-/.]{_D}|{_D}[日号]?)(?![\d.])",  # 11月1日-11月7日, 11月1日到7日
    rf"(?<![\d.]){_XFULL}(?![\d.])",  # 11月3日, 2026-11-03
    rf"(?<![\d.]){_XMONTH}{_XSEP}{_XMONTH}",  # 9月-11月
    rf"(?<![\d.A-Za-z])(?:{_Y}年?-?)?(?:第{_D}季度?|{_D}季度|[Qq][1-4](?![\dA-Za-z]))",  # 第3季度, 2026Q3
    rf"(?<![\d.]){_XMONTH}(?![\d日号])",  # 11月, 2026-11, 十一月
    rf"(?<!\d){_Y}年(?:度)?",  # 2026年
    rf"(?:最近|近|过去)的?{_N}(?:个?小时|个?钟头|天|日|个?星期|个?礼拜|周|个?月|年)(?:以内|内|来)?",  # 近7天
    r"(?<![\d=.])618(?!\d)",
    "(?:" + "|".join(map(re.escape, _XWORDS)) + ")(?:以来|至今)?",  # 本周, 上个月, 昨天
]))


def _nfkc1(c: str) -> str:
    n = unicodedata.normalize("NFKC", c)
    return n if len(n) == 1 else c


def extract_period(text: str) -> tuple[str | None, str]:
    """Find the first time phrase in free text: ``昨天淘宝的投诉`` → ``("昨天", "淘宝的投诉")``.

    The phrase is returned as written (``resolve_window`` normalises it); the rest keeps the other words,
    with a ``的`` right after the phrase dropped and whitespace collapsed.
    """
    if not text:
        return None, ""
    m = _EXTRACT.search("".join(_nfkc1(c) for c in text))
    if m is None:
        return None, " ".join(text.split())
    after = text[m.end():]
    rest = text[:m.start()] + (after[1:] if after.startswith("的") else after)
    return m.group(), " ".join(rest.split())
