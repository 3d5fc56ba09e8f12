"""Questions out of customer messages: detection and normalisation, pure functions.

``extract(text)`` is what the rest of the FAQ pipeline calls: the normalised question, or ``None`` when
the message asks nothing (a greeting, 好的/谢谢, an order number alone, emoticon codes, a pure
acknowledgement).  It is ``normalize`` followed by ``is_question`` on the result.

``normalize(text)``, in this order:

1. NFKC (full-width digits and letters to half-width), lower-case, emoticon codes (``[微笑]``,
   ``/:)``, ``/::D``) and emoji removed;
2. personal data masked with :func:`analytics.textmodel.pii.mask_pii`, its labels turned into
   placeholders: order and other long numbers → 〈订单号〉, tracking numbers → 〈运单号〉, mobile and
   landline → 〈手机号〉, and 〈邮箱〉〈身份证〉〈银行卡〉〈地址〉〈姓名〉;
3. amounts (``99元``, ``¥12.5``, ``30块``) → 〈金额〉, dates (``11月11日``, ``2026-11-11``, ``3号``)
   → 〈日期〉, clock times (``18:00``, ``下午3点``) → 〈时间〉, sizes and body measures (``XL``, ``38码``,
   ``175/92A``, ``170cm``, ``120斤``) → 〈尺码〉;
4. greetings and fillers at the start or the end stripped, repeatedly (亲, 你好, 您好, 在吗, 请问,
   麻烦问一下, 客服, 好的, 嗯, 那个, hello …, and trailing 谢谢/呢/啊/呀), so ``亲，在吗？请问什么时候
   发货呀`` becomes ``什么时候发货``;
5. punctuation: a run inside the text becomes one ``，``, at the ends it is dropped; spaces between
   two Chinese characters go.

``is_question(text)`` is true when what remains (after the same normalisation) has content — at least
two Chinese characters or letters besides placeholders — and is not a bare acknowledgement, and either
ends in a question mark in the raw text, carries an interrogative (吗, 什么, 怎么, 啥, 几, 多久, 多少,
哪, 为什么, 如何, 是否, V不V like 能不能/有没有), a request (帮我, 我想, 我要, 麻烦…) or a problem
report (用不了, 没收到, 还没, 开错, 坏了, 失败 …) — customers ask "优惠券用不了" without a question
word, and that is exactly a knowledge-base entry.
"""

from __future__ import annotations

import re
import unicodedata

from analytics.textmodel.pii import mask_pii

# --- step 1: emoticons ---------------------------------------------------------------------------------
# Platform emoticon codes: "[微笑]" / "[捂脸]" (Chinese name in brackets, up to 4 characters), the old
# QQ/WeChat "/:)" "/::D" "/:,@P" codes, and pictographic emoji.
_BRACKET_EMOTICON = re.compile(r"\[[\u4e00-\u9fffA-Za-z]{1,4}\]")
_SLASH_EMOTICON = re.compile(r"/:{1,2}[^\s\u4e00-\u9fff/]{1,5}")
_EMOJI = re.compile("[\U0001f000-\U0001faff\u2600-\u27bf\ufe0f\u200d]")

# --- step 2: personal data labels from analytics.textmodel.pii -> placeholders ---------------------------
_PII_PLACEHOLDER = {
    "[单号]": "〈订单号〉", "[编号]": "〈订单号〉", "[运单号]": "〈运单号〉", "[手机号]": "〈手机号〉",
    "[电话]": "〈手机号〉", "[邮箱]": "〈邮箱〉", "[身份证]": "〈身份证〉", "[银行卡]": "〈银行卡〉",
    "[地址]": "〈地址〉", "[姓名]": "〈姓名〉",
}
_PII_LABEL = re.compile("|".join(re.escape(k) for k in _PII_PLACEHOLDER))
# "订单号〈订单号〉" / "快递单号：〈运单号〉" say the same thing twice.
_LABEL_BEFORE_PLACEHOLDER = re.compile(r"(?:订单号码|订单编号|订单号|订单|快递单号|物流单号|运单号|单号|手机号码|手机号|电话号码|电话|手机)"
                                       r"(?:是|为)?[:#\s]*(〈(?:订单号|运单号|手机号)〉)")

# --- step 3: amounts, dates, times, sizes -----------------------------------------------------------------
_NUM = r"\d+(?:\.\d+)?"
_AMOUNT = re.compile(rf"(?:[¥￥]\s*{_NUM}|{_NUM}\s*(?:元|块钱|块|rmb|人民币)(?![a-z]))")
_DATE = re.compile(
    r"(?:\d{4}[-/.年]\d{1,2}[-/.月]\d{1,2}[日号]?"      # 2026-11-11, 2026年11月11日
    r"|\d{1,2}月\d{1,2}[日号]"                          # 11月11日
    r"|\d{1,2}月(?:份|初|中|底)?(?![\d])"                 # 11月, 11月底
    r"|(?<![\d.])(?:[1-9]|[12]\d|3[01])[日号](?![\d码楼]))"  # 3号 (a day of the month, not 38码)
)
_TIME = re.compile(r"(?:(?:上午|下午|晚上|早上|中午|凌晨)?\d{1,2}[:：]\d{2}|(?:上午|下午|晚上|早上|中午|凌晨)?\d{1,2}点(?:半|钟)?)")
_SIZE = re.compile(
    r"(?:\d{3}/\d{2,3}[ab]?"                                        # 175/92a
    r"|\d{2,3}(?:\.5)?\s*(?:码|cm|厘米|公分|斤|kg|公斤)"                 # 38码, 170cm, 120斤
    r"|(?<![a-z])(?:[2-5]?xl|xxxl|xxl|xs|s|m|l)(?![a-z])(?:码|号)?"    # xl, xxl, m码
    r"|(?<=身高)\d{3}|(?<=体重)\d{2,3})"                               # 身高170 体重60
)

# --- step 4: fillers ---------------------------------------------------------------------------------------
_LEADING = [
    "亲爱的", "亲亲", "亲", "你好", "您好", "哈喽", "hello", "hi", "在吗", "在不在", "在么", "在嘛", "有人吗",
    "客服", "掌柜", "老板", "店家", "小姐姐", "小哥哥", "美女",
    "我想问一下", "我想问下", "我想问问", "想问一下", "想问下", "问一下", "问下", "麻烦问一下", "麻烦问下",
    "打扰一下", "打扰了", "请问一下", "请问下", "请问", "麻烦", "那个", "就是", "还有",
    "好的", "好", "嗯嗯", "嗯", "哦哦", "哦", "噢", "额", "呃", "诶", "哎", "那", "对了",
]
_TRAILING = ["谢谢亲", "谢谢你", "谢谢您", "谢谢啦", "谢谢了", "谢谢", "多谢", "感谢", "麻烦了", "麻烦你了",
             "辛苦了", "亲亲", "亲", "呢", "啊", "呀", "哈", "哦", "喔", "啦", "嘛", "么么哒"]
_LEADING_RE = re.compile("^(?:" + "|".join(sorted(map(re.escape, _LEADING), key=len, reverse=True)) + ")")
_TRAILING_RE = re.compile("(?:" + "|".join(sorted(map(re.escape, _TRAILING), key=len, reverse=True)) + ")$")

# --- step 5: punctuation -------------------------------------------------------------------------------------
_PUNCT_RUN = re.compile(r"[\s,.!?;:~\-_=+*^`'\"|\\/()\[\]{}<>@#$%&，。！？；：、…～·“”‘’（）【】《》「」『』—]+")
_SPACE_BETWEEN_HAN = re.compile(r"(?<=[\u4e00-\u9fff〉])\s+(?=[\u4e00-\u9fff〈])")
_PLACEHOLDER = re.compile(r"〈[^〉]{1,4}〉")


def _strip_fillers(text: str) -> str:
    while True:
        before = text
        text = text.strip(" ，")
        m = _LEADING_RE.match(text)
        if m:
            word, rest = m.group(0), text[m.end():]
            # "好" only as a word of its own (keep 好评返现吗); "那" not as a demonstrative (那款, 那边).
            if not ((word == "好" and rest and rest[0] not in " ，")
                    or (word == "那" and rest[:1] in set("边里款些件种天"))):
                text = rest
        text = text.strip(" ，")
        m = _TRAILING_RE.search(text)
        if m:
            text = text[: m.start()]
        text = text.strip(" ，")
        if text == before:
            return text


def _punctuation(text: str) -> str:
    text = _PUNCT_RUN.sub(lambda m: " " if m.group(0).isspace() else "，", text)
    text = _SPACE_BETWEEN_HAN.sub("", text)
    text = re.sub(r"\s*，[\s，]*", "，", text)
    return text.strip(" ，")


def normalize(text: str) -> str:
    """The question in its comparable form: masked, placeholders for numbers, fillers stripped (module docs)."""
    text = unicodedata.normalize("NFKC", text or "")
    text = _BRACKET_EMOTICON.sub(" ", text)
    text = _SLASH_EMOTICON.sub(" ", text)
    text = _EMOJI.sub(" ", text)
    text = mask_pii(text)
    text = _PII_LABEL.sub(lambda m: _PII_PLACEHOLDER[m.group(0)], text)
    text = text.lower()
    text = _LABEL_BEFORE_PLACEHOLDER.sub(r"\1", text)
    text = _AMOUNT.sub("〈金额〉", text)
    text = _DATE.sub("〈日期〉", text)
    text = _TIME.sub("〈时间〉", text)
    text = _SIZE.sub("〈尺码〉", text)
    text = _punctuation(text)
    text = _strip_fillers(text)
    return text


# --- is_question --------------------------------------------------------------------------------------------
_ACKS = frozenset("""
好 好的 好滴 好哒 好嘞 好吧 行 行吧 可以 可以了 ok okk okay 嗯 嗯嗯 哦 哦哦 噢 收到 知道了 明白 明白了 了解
了解了 懂了 谢谢 谢了 多谢 感谢 没事 没事了 没有了 没了 不用了 算了 拜拜 再见 辛苦 辛苦了 麻烦了 好的谢谢
嗯嗯好的 好的呢 是的 对 对的 对啊 嗯呢 没问题 稍等 等下 等一下 马上 来了 在 在的 哈哈 哈哈哈 呵呵 晚安 早
早上好 晚上好 下午好 中午好 新年好 已付款 已拍 拍了 付了 已下单 下单了 确认收货了 好评 给好评
""".split())
_INTERROGATIVE = re.compile(
    r"吗|么|啥|咋|几|多久|多少|多长|多大|多重|多高|哪|谁|为何|为啥|为什么|如何|是否|何时|何地|怎样|能否|可否"
    r"|(.)不\1|有没有|是不是|还是|呢$|吧$|没$|不$|不了$"
)
_REQUEST = re.compile(r"帮我|帮忙|帮下|给我|麻烦|我想|我要|想要|需要|能给|可以给|申请|求|查一下|查下|查询|催")
_PROBLEM = re.compile(
    r"不了|不上|不开|不进|不能|不可以|没法|无法|失败|错误|报错|异常|出错|开错|填错|写错|拍错|发错|寄错|"
    r"没收到|没有收到|收不到|没到|还没|没发|没有发|不发|少发|漏发|少了|缺了|坏了|破了|碎了|烂了|漏了|"
    r"不对|不一样|不符|有问题|质量问题|掉色|起球|显示|提示|一直|怎么还|还不|太慢|不退|不给|拒绝|不见了"
)
_CONTENT = re.compile(r"[\u4e00-\u9fffa-z]")


def _content_chars(normalized: str) -> int:
    return len(_CONTENT.findall(_PLACEHOLDER.sub("", normalized)))


def _question_in(normalized: str, raw_question_mark: bool) -> bool:
    if _content_chars(normalized) < 2:
        return False  # empty, an order number alone, a single character
    if normalized in _ACKS or re.sub(r"[，\s]", "", normalized) in _ACKS:
        return False
    if raw_question_mark:
        return True
    return bool(_INTERROGATIVE.search(normalized) or _REQUEST.search(normalized) or _PROBLEM.search(normalized))


_QUESTION_MARK = re.compile(r"[?？]")


def _has_question_mark(text: str) -> bool:
    # "在吗？" and "[疑问]" do not make a question; the mark counts only after stripping the greeting.
    return bool(_QUESTION_MARK.search(text))


def is_question(text: str) -> bool:
    """Whether a customer message asks something (see the module docs for the rule)."""
    return extract(text) is not None


def extract(text: str) -> str | None:
    """The normalised question in ``text``, or ``None`` when the message asks nothing."""
    normalized = normalize(text)
    if not normalized:
        return None
    # A question mark counts only when the normalised text itself came with one (the part before the
    # mark survives normalisation): "在吗？" → "" is not a question, "运费多少？" is.
    raw = unicodedata.normalize("NFKC", text or "")
    marked = False
    for part in re.split(r"(?<=[?？])", raw):
        if _has_question_mark(part):
            core = normalize(part)
            if core and _content_chars(core) >= 2:
                marked = True
                break
    return normalized if _question_in(normalized, marked) else None
