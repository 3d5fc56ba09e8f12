"""DingTalk pure protocol: signatures (PROTOCOLS.md vectors), callback parsing, rendering limits."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.adapters import dingtalk
from bot.adapters.base import Destination
from bot.adapters.dingtalk import VerifyResult, parse_callback, verify_callback
from bot.adapters.dingtalk_api import signed_robot_url
from handlers.base import Chart, Reply
from tests.fakes.dingtalk_server import independent_sign

FIXTURES = sorted((Path(__file__).parent / "fixtures" / "dingtalk").glob("*.json"))

# PROTOCOLS.md appendix: DingTalk push sign test vector (checked there with openssl).
VECTOR_SECRET = "SECthisisatestsecret0123456789"
VECTOR_TS = 1577262236757
VECTOR_RAW = "WaK/Ulr0l/fXRP1FKjtK9RILFCU7r5LQZa1iTZt/Yok="
VECTOR_ENCODED = "WaK%2FUlr0l%2FfXRP1FKjtK9RILFCU7r5LQZa1iTZt%2FYok%3D"


def test_sign_matches_the_protocol_vector():
    assert dingtalk.sign(VECTOR_SECRET, VECTOR_TS) == VECTOR_RAW
    assert independent_sign(VECTOR_SECRET, str(VECTOR_TS)) == VECTOR_RAW  # the fake agrees too


def test_robot_url_encodes_the_signature_exactly_once_and_drops_old_parameters():
    webhook = "https://oapi.dingtalk.com/robot/send?access_token=abc123&timestamp=1&sign=stale"
    url = signed_robot_url(webhook, VECTOR_SECRET, VECTOR_TS)
    assert url.raw_query_string == f"access_token=abc123&timestamp={VECTOR_TS}&sign={VECTOR_ENCODED}"
    assert url.query["sign"] == VECTOR_RAW  # decodes back to the raw Base64, not "%2F" or spaces
    again = signed_robot_url(str(url), VECTOR_SECRET, VECTOR_TS)  # re-signing never grows the URL
    assert again.raw_query_string == url.raw_query_string


SECRET = "app-secret-for-tests"
NOW = 1_764_055_800_000
GOOD = independent_sign(SECRET, str(NOW))

VERIFY_CASES = [
    # (timestamp header, sign header, now, expected)
    (str(NOW), GOOD, NOW, VerifyResult.OK),  # fresh and correct
    (str(NOW), GOOD, NOW + 3_600_000, VerifyResult.OK),  # exactly one hour old still counts
    (str(NOW), GOOD, NOW + 3_600_001, VerifyResult.STALE),  # one millisecond too old
    (str(NOW), GOOD, NOW - 3_600_001, VerifyResult.STALE),  # from too far in the future
    (str(NOW), GOOD[:-2] + "A=", NOW, VerifyResult.BAD_SIGN),  # tampered signature
    (str(NOW + 1), GOOD, NOW, VerifyResult.BAD_SIGN),  # signature of another timestamp
    (str(NOW), independent_sign("other-secret", str(NOW)), NOW, VerifyResult.BAD_SIGN),  # other app
    (str(NOW), "签名", NOW, VerifyResult.BAD_SIGN),  # non-ASCII garbage does not crash compare_digest
    (None, GOOD, NOW, VerifyResult.MISSING),  # no timestamp header
    (str(NOW), None, NOW, VerifyResult.MISSING),  # no sign header
    ("", "", NOW, VerifyResult.MISSING),  # empty headers
    ("-5", GOOD, NOW, VerifyResult.BAD_TIMESTAMP),  # negative
    ("1e12", GOOD, NOW, VerifyResult.BAD_TIMESTAMP),  # not an integer
    ("１２３", GOOD, NOW, VerifyResult.BAD_TIMESTAMP),  # full-width digits
    ("9" * 40, GOOD, NOW, VerifyResult.BAD_TIMESTAMP),  # absurdly long
]


@pytest.mark.parametrize(("ts", "sign", "now", "expected"), VERIFY_CASES)
def test_verify_callback_table(ts, sign, now, expected):
    assert verify_callback(ts, sign, SECRET, now) is expected


def test_verify_refuses_when_no_secret_is_configured():
    assert verify_callback(str(NOW), independent_sign("", str(NOW)), "", NOW) is VerifyResult.MISSING


@pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_recorded_payloads(path):
    case = json.loads(path.read_text(encoding="utf-8"))
    expect = case["expect"]
    if expect.get("error"):
        with pytest.raises(dingtalk.PayloadError):
            parse_callback(case["payload"])
        return
    msg = parse_callback(case["payload"])
    if expect.get("ignored"):
        assert msg is None
        return
    assert msg is not None
    assert (msg.platform, msg.text, msg.chat_id, msg.user_id, msg.user_name, msg.is_private) == (
        "dingtalk", expect["text"], expect["chat_id"], expect["user_id"], expect["user_name"], expect["is_private"])
    assert msg.message_id == case["payload"]["msgId"]
    durable = msg.reply_handle["durable"]
    assert (durable.kind, durable.target) == (expect["durable"]["kind"], expect["durable"]["target"])
    assert durable.extra.get("robot_code") == case["payload"].get("robotCode")
    live = msg.reply_handle.get("live")
    assert (live is not None) == expect["live"]
    if live is not None:
        assert live.extra["webhook"] == case["payload"]["sessionWebhook"]
        assert live.extra["expires_ms"] == case["payload"]["sessionWebhookExpiredTime"]
        at = [case["payload"]["senderStaffId"]] if not msg.is_private and "senderStaffId" in case["payload"] else []
        assert live.extra["at_user_ids"] == at


def _body_bytes(body: dict) -> int:
    return len(json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


@pytest.mark.parametrize(("line", "lines"), [("满意度 95.2% ↑ 1.3 个百分点（n=1,234）", 1500),
                                           ('a "quoted" \\ path', 3000), ("长" * 25_000, 3)],
                         ids=["chinese-lines", "escapes", "one-huge-line"])
def test_markdown_bodies_stay_within_the_byte_limit(line, lines):
    text = "\n".join(f"{i:04d} {line}" for i in range(lines))
    bodies = dingtalk.markdown_bodies("客服日报", text, max_parts=100)
    assert len(bodies) > 1
    assert all(_body_bytes(b) <= dingtalk.MAX_BODY_BYTES for b in bodies)
    # Nothing lost: the parts carry every non-newline character of the original, in order.
    joined = "".join(b["markdown"]["text"] for b in bodies)
    assert joined.replace("\n", "") == text.replace("\n", "")
    assert [b["markdown"]["title"] for b in bodies][:2] == [f"客服日报 (1/{len(bodies)})", f"客服日报 (2/{len(bodies)})"]


def test_markdown_bodies_trim_after_max_parts():
    text = "\n".join("投诉明细 " * 40 for _ in range(2000))
    bodies = dingtalk.markdown_bodies("t", text, max_parts=3)
    assert len(bodies) == 3
    assert all(_body_bytes(b) <= dingtalk.MAX_BODY_BYTES for b in bodies)
    assert bodies[-1]["markdown"]["text"].endswith("(已截断)")


def test_short_reply_is_one_body_with_at():
    bodies = dingtalk.markdown_bodies("满意度", "**满意度 92.0%**", at_user_ids=["manager4756"])
    assert bodies == [{"msgtype": "markdown", "markdown": {"title": "满意度", "text": "**满意度 92.0%**"},
                       "at": {"atUserIds": ["manager4756"], "isAtAll": False}}]


def test_reply_markdown_hard_breaks_and_images(tmp_path):
    reply = Reply("满意度 92.0%\n参评 120", title="满意度 本周",
                  charts=[Chart(tmp_path / "a.png", "趋势"), Chart(tmp_path / "b.png", "分布")])
    title, text = dingtalk.reply_markdown(reply, ["https://bot.example.com/charts/x.png?exp=1&sig=s", None])
    assert title == "满意度 本周"
    assert text == ("满意度 92.0%  \n参评 120\n\n![趋势](https://bot.example.com/charts/x.png?exp=1&sig=s)"
                    "\n\n[图表] 分布（图片暂不可用）")


KEYWORD_CASES = [
    # (keywords, title, text, expected title, expected text)
    ((), "日报", "内容", "日报", "内容"),  # no keyword mode
    (("客服",), "客服日报", "内容", "客服日报", "内容"),  # keyword already in the title
    (("告警", "客服"), "日报", "客服满意度", "日报", "客服满意度"),  # any keyword in the text counts
    (("客服",), "日报", "内容", "客服 日报", "客服  \n内容"),  # added when missing
]


@pytest.mark.parametrize(("keywords", "title", "text", "exp_title", "exp_text"), KEYWORD_CASES)
def test_ensure_keyword(keywords, title, text, exp_title, exp_text):
    assert dingtalk.ensure_keyword(title, text, keywords) == (exp_title, exp_text)


def test_live_destination_is_keyed_by_message():
    case = json.loads((FIXTURES[0].parent / "group_at_text.json").read_text(encoding="utf-8"))
    live = parse_callback(case["payload"]).reply_handle["live"]
    assert isinstance(live, Destination) and live.key == "dingtalk:session:msgMASKED0000000000000001=="
