"""Personal-data masking: table-driven cases plus property tests with generated inputs."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.text import mask_pii


def luhn_digit(body: str) -> str:
    """The check digit that makes body + digit pass Luhn (written independently of pii.py)."""
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:  # these positions are doubled once the check digit is appended
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # mobile, plain / with +86 / with dashes and spaces
        ("电话13812345678", "电话[手机号]"),
        ("手机 +86 138-1234-5678 谢谢", "手机 [手机号] 谢谢"),
        ("打 139 1234 5678", "打 [手机号]"),
        # landline with area code, parentheses, extension
        ("座机010-62345678", "座机[电话]"),
        ("(0571)88886666转123", "[电话]"),
        # ID cards with X and digits
        ("身份证11010519491231002X", "身份证[身份证]"),
        ("证件号 440301199001011234，", "证件号 [身份证]，"),
        # email
        ("发到 zhang.san+shop@example.com.cn 吧", "发到 [邮箱] 吧"),
        # bank card: Luhn-valid with and without spaces
        ("卡号6222021234567890128", "卡号[银行卡]"),
        ("卡号 4111 1111 1111 1111", "卡号 [银行卡]"),
        # order / tracking numbers
        ("订单号：2345678901234567890", "订单号：[单号]"),
        ("运单SF1234567890123已签收", "运单[运单号]已签收"),
        ("YT7512345678901 到哪了", "[运单号] 到哪了"),
        ("京东的JD0098765432101", "京东的[运单号]"),
        ("单号是AB12CD34EF", "单号是[单号]"),
        ("订单 123456789012 没发", "订单 [单号] 没发"),
        ("编号 98765432 的那个", "编号 [编号] 的那个"),
        # addresses
        ("地址浙江省杭州市西湖区文三路123号5栋2单元301室", "地址[地址]"),
        ("寄到阳光花园3栋2单元501，谢谢", "寄到[地址]，谢谢"),
        ("送到上海市浦东新区张江镇科苑路", "送到[地址]"),
        ("我住在朝阳区建国路88号", "我住在[地址]"),
        # names after trigger words
        ("我叫张三，电话13812345678", "我叫[姓名]，电话[手机号]"),
        ("收件人：李小明 电话", "收件人：[姓名] 电话"),
        ("联系人王五电话多少", "联系人[姓名]电话多少"),
        # shipping-label style: a bare name next to a phone number or an address
        ("王五 13812345678", "[姓名] [手机号]"),
        ("辽宁省沈阳市和平区解放路736号保利香槟3栋1单元1504，叶伟，151-2506-6672", "[地址]，[姓名]，[手机号]"),
        ("谢谢 13812345678", "谢谢 [手机号]"),
        ("请联系 13812345678", "请联系 [手机号]"),
        ("我是老客户，13812345678", "我是老客户，[手机号]"),
        # districts and roads whose names contain common words
        ("大连经济技术开发区金马路12号", "大[地址]"),
        ("人民路88号", "[地址]"),
        # nothing to mask
        ("这个多少钱？100元，买了3件", "这个多少钱？100元，买了3件"),
        ("我家住在中山路那边", "我家住在中山路那边"),
        ("2026年11月25日下单，12.5元", "2026年11月25日下单，12.5元"),
        ("iPhone15 Pro 256G 有货吗", "iPhone15 Pro 256G 有货吗"),
        ("", ""),
    ],
)
def test_mask_table(text: str, expected: str) -> None:
    assert mask_pii(text) == expected


# --- generated inputs -------------------------------------------------------------

# Filler text that is not personal data: words without the address suffixes or name
# triggers, short numbers (up to 6 digits, each with a unit so two never join into a
# long run, which would be treated as an identifier) and punctuation.
SAFE_WORDS = ["你好", "请问", "这个", "什么时候", "发货", "谢谢", "质量", "不错", "价格", "优惠", "颜色",
              "尺码", "退款", "客服", "物流", "包装", "好的", "可以", "东西", "喜欢", "快递", "问题", "今天"]
safe_piece = st.one_of(
    st.sampled_from(SAFE_WORDS),
    st.builds(lambda n, u: f"{n}{u}", st.integers(0, 999_999), st.sampled_from("元件个天斤块%")),
    st.sampled_from(["，", "。", "？", "！", " ", "~", "、"]),
)
safe_text = st.lists(safe_piece, max_size=12).map("".join)
# A separator that keeps the PII from touching filler digits or letters.
sep = st.sampled_from(["，", "。", " ", "：", "是", "！"])

mobile = st.builds(lambda a, b: f"1{a}{b:09d}", st.sampled_from("3456789"), st.integers(0, 10**9 - 1))
id_card = st.builds(
    lambda area, y, m, d, seq, last: f"{area}{y}{m:02d}{d:02d}{seq:03d}{last}",
    st.integers(110000, 659999), st.integers(1950, 2010), st.integers(1, 12), st.integers(1, 28),
    st.integers(0, 999), st.sampled_from("0123456789X"),
)
card = st.builds(lambda n, body: body[:n] + luhn_digit(body[:n]),
                 st.integers(15, 18), st.text("0123456789", min_size=18, max_size=18).map(lambda s: "6" + s))
long_id = st.text("0123456789", min_size=8, max_size=24)
tracking = st.builds(lambda p, n: p + n, st.sampled_from(["SF", "YT", "JD", "JT", "ZTO", "DPK"]),
                     st.text("0123456789", min_size=10, max_size=15))
email = st.builds(lambda u, h, t: f"{u}@{h}.{t}", st.from_regex(r"[a-z][a-z0-9._]{0,10}", fullmatch=True),
                  st.from_regex(r"[a-z0-9]{1,10}", fullmatch=True), st.sampled_from(["com", "cn", "net", "com.cn"]))
pii = st.one_of(mobile, id_card, card, long_id, tracking, email)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(before=safe_text, s1=sep, secret=pii, s2=sep, after=safe_text)
def test_masked_output_never_contains_the_original(before, s1, secret, s2, after) -> None:
    masked = mask_pii(before + s1 + secret + s2 + after)
    assert secret not in masked
    digits = re.sub(r"\D", "", secret)
    if len(digits) >= 8:
        assert digits not in masked


@settings(max_examples=300)
@given(text=safe_text)
def test_non_pii_text_is_unchanged(text: str) -> None:
    assert mask_pii(text) == text


@settings(max_examples=200)
@given(text=st.text(max_size=200))
def test_arbitrary_text_never_crashes_and_short_numbers_survive(text: str) -> None:
    masked = mask_pii(text)
    assert isinstance(masked, str)
    assert mask_pii(masked) == masked  # masking is idempotent


def test_demo_generator_personal_data_is_masked() -> None:
    """The demo data's own names, phones, addresses and tracking numbers never survive masking."""
    import random

    phrases = pytest.importorskip("analytics.demo.phrases", reason="demo generator not available")
    rng = random.Random(20261125)
    for _ in range(500):
        name, phone, addr = phrases.person_name(rng), phrases.mobile(rng), phrases.address(rng)
        track = phrases.tracking_number(rng, rng.choice(["顺丰", "京东快递", "圆通", "中通", "韵达"]))
        for msg in (f"收件人：{name}，电话{phone}，地址：{addr}，单号{track}", f"{name} {phone} {addr}",
                    f"{addr}，{name}，{phone}", f"改一下地址：{addr}"):
            masked = mask_pii(msg)
            for secret in (name, phone, addr, track):
                assert secret not in masked, (msg, masked)
            assert not re.search(r"\d{3,}", masked), (msg, masked)
