"""Question extraction and normalisation (analytics.faq.extract): tables of real-looking chat lines."""

from __future__ import annotations

import pytest

from analytics.faq import extract, is_question, normalize

QUESTIONS = [
    ("亲，在吗？请问什么时候发货呀", "什么时候发货"),          # greeting, filler and particle stripped
    ("好的，那什么时候发货", "什么时候发货"),                  # leading acknowledgement and 那
    ("啥时候发货", "啥时候发货"),                              # normalisation keeps the wording; synonyms are canonical()'s job
    ("请问本订单预计何时发出", "本订单预计何时发出"),
    ("优惠券用不了", "优惠券用不了"),                          # a problem report with no question word
    ("有优惠券吗？", "有优惠券吗"),
    ("多久能到货?", "多久能到货"),                             # half-width mark
    ("我要退货", "我要退货"),                                  # a request
    ("好评返现吗", "好评返现吗"),                              # 好 as part of a word stays
    ("我身高170体重120斤穿什么码", "我身高〈尺码〉体重〈尺码〉穿什么码"),
    ("XL码有货吗", "〈尺码〉有货吗"),
    ("11月11日之前能到吗", "〈日期〉之前能到吗"),
    ("亲亲 3号能发货吗 谢谢", "〈日期〉能发货吗"),
    ("这个99元包邮吗", "这个〈金额〉包邮吗"),
    ("满¥199能减多少", "满〈金额〉能减多少"),
    ("我的订单 2023111234567 怎么还没发货", "我的〈订单号〉怎么还没发货"),   # order number, label merged
    ("订单号：20231112345678 发货了吗", "〈订单号〉发货了吗"),
    ("手机13812345678能改收货地址吗", "〈手机号〉能改收货地址吗"),             # personal data masked
    ("快递单号SF1234567890 怎么不动了", "〈运单号〉怎么不动了"),
    ("下午3点前下单今天能发吗", "〈时间〉前下单今天能发吗"),
    ("[微笑]你好，运费多少？？？", "运费多少"),                # emoticon, repeated marks
    ("／：）发票怎么开", "发票怎么开"),                         # full-width emoticon code after NFKC
    ("在吗 颜色和图片一样吗", "颜色和图片一样吗"),
    ("ＸＬ码偏大吗", "〈尺码〉偏大吗"),                         # full-width letters
    ("衣服收到了，但是掉色，怎么办", "衣服收到了，但是掉色，怎么办"),  # inner punctuation becomes one ，
]

NOT_QUESTIONS = [
    "在吗？",                 # greeting alone
    "你好",
    "亲，在不在",
    "好的谢谢亲",             # acknowledgement
    "好的",
    "嗯嗯",
    "收到",
    "谢谢[玫瑰]",
    "[微笑]",                 # emoticon codes alone
    "/:)",
    "[捂脸][捂脸]",
    "订单号123456789012",     # an order number alone
    "2023111234567890",
    "13812345678",            # a phone number alone
    "哈哈哈",
    "？",
    "",
    "我昨天买的",             # a statement that asks nothing
]


@pytest.mark.parametrize(("text", "expected"), QUESTIONS)
def test_questions_are_extracted_and_normalised(text, expected):
    assert extract(text) == expected
    assert is_question(text)


@pytest.mark.parametrize("text", NOT_QUESTIONS)
def test_non_questions(text):
    assert extract(text) is None
    assert not is_question(text)


@pytest.mark.parametrize(("text", "_expected"), QUESTIONS)
def test_normalize_is_idempotent(text, _expected):
    once = normalize(text)
    assert normalize(once) == once


def test_no_personal_data_survives():
    text = "收件人张三 13912345678 地址上海市浦东新区世纪大道100号 订单20231112345678为什么没发"
    out = normalize(text)
    for secret in ("张三", "13912345678", "世纪大道", "20231112345678"):
        assert secret not in out
    assert "〈手机号〉" in out and "〈订单号〉" in out
