"""Personal-data masking for every text that leaves the database for a chat.

``mask_pii(text)`` replaces, in this order (most specific first, so a phone number is
not half-eaten by the generic number rule):

=============  =============================================================  ==========
kind           what                                                           becomes
=============  =============================================================  ==========
email          ``name@host.tld``                                              [邮箱]
id card        18-digit resident ID (birth date checked, last char may be X)  [身份证]
tracking       letter prefix + 8+ digits (SF…, YT…, JD…, JT…, ZTO…)           [运单号]
labelled id    whatever follows 订单号/运单号/快递单号/单号 (6+ letters/digits)  [单号]
bank card      16–19 digits, optionally in groups of 4 ([编号] if not Luhn)   [银行卡]
mobile         1[3-9]xxxxxxxxx, optional +86, spaces or dashes allowed         [手机号]
landline       0 + 2–3 digit area code + 7–8 digits, optional extension       [电话]
long number    any other run of 8 or more digits (order ids, 15-digit IDs)    [编号]
address        street/estate + house number, or district + street             [地址]
name           2–3 characters after 我叫/收件人/收货人/联系人/姓名, or a      [姓名]
               surname + 1–2 characters standing alone next to a masked
               phone number or address (shipping-label style)
=============  =============================================================  ==========

Text without any of these is returned unchanged (character for character).  Short
numbers (prices, quantities, dates up to 7 digits) are kept.
"""

from __future__ import annotations

import re

_D = r"\d"
_NOT_ALNUM_BEFORE = r"(?<![0-9A-Za-z０-９Ａ-Ｚａ-ｚ])"
_NOT_ALNUM_AFTER = r"(?![0-9A-Za-z０-９Ａ-Ｚａ-ｚ])"
_NOT_DIGIT_BEFORE = r"(?<!\d)"
_NOT_DIGIT_AFTER = r"(?!\d)"

EMAIL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._%+\-]*@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
ID_CARD = re.compile(
    _NOT_ALNUM_BEFORE
    + r"[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx]"
    + _NOT_ALNUM_AFTER
)
TRACKING = re.compile(_NOT_ALNUM_BEFORE + r"[A-Za-z]{1,4}\d{8,}" + _NOT_ALNUM_AFTER)
LABELLED_ID = re.compile(
    r"((?:订单号|订单编号|运单号|快递单号|物流单号|退货单号|单号|订单)(?:码)?[是为:：#\s]*)"
    r"([A-Za-z0-9\-]{6,})"
)
CARD = re.compile(_NOT_DIGIT_BEFORE + r"\d{4}(?:[ \-]?\d{4}){3}(?:[ \-]?\d{1,3})?" + _NOT_DIGIT_AFTER)
MOBILE = re.compile(
    r"(?<![0-9+])(?:(?:\+|00)?86[ \-]?)?1[3-9]\d(?:[ \-]?\d{4}){2}" + _NOT_DIGIT_AFTER
)
LANDLINE = re.compile(
    _NOT_DIGIT_BEFORE
    + r"(?:\(0\d{2,3}\)|（0\d{2,3}）|0\d{2,3})[ \-]?[2-9]\d{6,7}(?:[ \-]?(?:转|ext\.?|-)?\d{1,5})?"
    + _NOT_DIGIT_AFTER
)
LONG_NUMBER = re.compile(r"\d{8,}")

# Characters that do not start or continue a place name but often precede one
# ("地址是…", "寄到…", "我住在…"): keeping them out stops the match from eating them.
_PLACE_CH = r"(?:(?![我你他她它的是在址到送寄住从往去了电话码])[\u4e00-\u9fff])"
_ADMIN = rf"(?:{_PLACE_CH}{{1,7}}?(?:特别行政区|自治区|自治州|省|市|区|县|旗|镇|乡|街道))"
_STREET = rf"(?:{_PLACE_CH}{{1,8}}?(?:大道|大街|路|街|巷|弄|胡同|村|里))"
_ESTATE = rf"(?:{_PLACE_CH}{{1,8}}?(?:小区|花园|家园|公寓|大厦|广场|中心|新村|苑|园|庭|府|城|院))"
_NUM = r"[0-9０-９一二三四五六七八九十百零〇A-Za-z]{1,6}"
_UNIT = rf"(?:{_NUM}(?:号楼|号院|号|栋|幢|座|单元|楼|层|室|户|弄|巷|区|期|组)(?:[\-－]{_NUM}(?![0-9]))?)"
# Street or estate, then house / building / unit / room numbers, each optionally preceded by
# an estate or building name without a suffix ("解放路736号保利香槟3栋1单元1504").
ADDRESS = re.compile(
    rf"{_ADMIN}*(?:{_STREET}|{_ESTATE})(?:{_PLACE_CH}{{0,8}}?{_UNIT})+(?:[\-－]?\d{{1,5}})?"
    rf"|{_ADMIN}+{_STREET}"
)
NAME = re.compile(r"(我叫|收件人|收货人|联系人|姓名|名字叫|名字是)([:：\s]*)([\u4e00-\u9fff·]{2,4})")
# Shipping-label style "张三 138…" / "…[地址]，张三，138…": a surname + 1–2 characters standing
# alone between separators right next to a masked phone number or address.
_SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
             "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
_NOT_NAMES = "谢谢|谢啦|谢了|马上|方便|高兴|白天|周末|周日|万一|于是|金额|余额|任何|贺卡|常用"
_LABEL_NAME = re.compile(
    rf"(?:(?<=^)|(?<=[，,\s:：;；]))(?!(?:{_NOT_NAMES})(?![\u4e00-\u9fff]))([{_SURNAMES}][\u4e00-\u9fff]{{1,2}})"
    r"(?=[，,\s]*\[(?:手机号|电话)\]|[，,\s]+\[地址\])"
)
# A name ends before these (收件人张三电话… -> 张三).
_NAME_STOP = re.compile(r"(电话|手机|地址|先生|女士|小姐|的|是|在|联系|收|，|。)")


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _card(m: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", m.group(0))
    return "[银行卡]" if _luhn_ok(digits) else "[编号]"


def _labelled(m: re.Match[str]) -> str:
    return m.group(1) + "[单号]" if any(ch.isdigit() for ch in m.group(2)) else m.group(0)


def _name(m: re.Match[str]) -> str:
    name = m.group(3)
    stop = _NAME_STOP.search(name)
    if stop is not None:
        name = name[: stop.start()]
    if len(name) < 2:
        return m.group(0)
    return m.group(1) + m.group(2) + "[姓名]" + m.group(3)[len(name):]


def mask_pii(text: str) -> str:
    """The text with personal data replaced by bracketed labels such as [手机号] (see module docs)."""
    if not text:
        return text if text is not None else ""
    text = EMAIL.sub("[邮箱]", text)
    text = ID_CARD.sub("[身份证]", text)
    text = TRACKING.sub("[运单号]", text)
    text = LABELLED_ID.sub(_labelled, text)
    text = CARD.sub(_card, text)
    text = MOBILE.sub("[手机号]", text)
    text = LANDLINE.sub("[电话]", text)
    text = LONG_NUMBER.sub("[编号]", text)
    text = ADDRESS.sub("[地址]", text)
    text = NAME.sub(_name, text)
    return _LABEL_NAME.sub("[姓名]", text)


# -- at rest ([privacy] mask_at_rest): what an import stores ---------------------------------------------
# Order and tracking numbers stay (complaints are matched to orders by them, 话术 and alerts show them
# masked anyway); a number only becomes [银行卡] when it passes the Luhn check, so a bare 16–19 digit
# order id is kept. Everything mask_pii labels as personal — e-mail, ID card, bank card, mobile,
# landline, address, name — is replaced by the same labels, so mask_pii of the stored text is the
# mask_pii of the original (what keywords, alerts and replies show does not change).
_KEPT = "\x00{}\x00"


def _card_at_rest(m: re.Match[str]) -> str:
    return "[银行卡]" if _luhn_ok(re.sub(r"\D", "", m.group(0))) else m.group(0)


def mask_at_rest(text: str | None, keep: tuple[str, ...] = ()) -> str | None:
    """``text`` as an import stores it under ``[privacy] mask_at_rest``: personal data replaced by
    mask_pii's labels, order ids, tracking numbers and the strings in ``keep`` (the row's own order id)
    left as they are. ``None`` and texts without personal data come back unchanged."""
    if not text:
        return text
    kept: list[str] = []

    def hold(value: str) -> str:
        kept.append(value)
        return _KEPT.format(len(kept) - 1)

    for value in sorted({k for k in keep if k and len(k) >= 6}, key=len, reverse=True):
        text = text.replace(value, hold(value))
    text = LABELLED_ID.sub(lambda m: m.group(1) + hold(m.group(2)) if any(c.isdigit() for c in m.group(2))
                           else m.group(0), text)
    text = TRACKING.sub(lambda m: hold(m.group(0)), text)
    text = EMAIL.sub("[邮箱]", text)
    text = ID_CARD.sub("[身份证]", text)
    text = CARD.sub(_card_at_rest, text)
    text = MOBILE.sub("[手机号]", text)
    text = LANDLINE.sub("[电话]", text)
    text = ADDRESS.sub("[地址]", text)
    text = NAME.sub(_name, text)
    text = _LABEL_NAME.sub("[姓名]", text)
    return re.sub("\x00(\\d+)\x00", lambda m: kept[int(m.group(1))], text) if kept else text
