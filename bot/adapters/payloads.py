"""Typed models of every inbound vendor payload, checked at the boundary before anything is parsed.

A callback body is validated here, in full, before a parser reads a single field: a field with
the wrong JSON type is a :class:`WrongType` (a ``ValueError``; the routes answer 400) and never
reaches a handler, the audit table or the outbox. Measured before these models: a signed DingTalk
``richText`` message whose ``content`` was a list answered 500, a Feishu event whose ``sender`` was a
string answered 500, and a Feishu ``chat_id`` list was dispatched and failed writing its audit row.

Rules, the same for every vendor:

* **strict types**: no coercion, so ``"1"`` is not an int, ``1`` is not a string, ``true`` is not a number;
* a field may be **absent**, but an explicit JSON ``null`` is a wrong type (the vendors omit fields
  they do not send; none of the recorded payloads or documented samples carries a null);
* unknown fields are allowed and never read (vendors add fields without notice);
* only the fields csbot knows are typed: those of the official tables in ``shared/PROTOCOLS.md`` and
  of the recorded payloads under ``tests/fixtures``.

Optional fields are declared ``name: Type = None`` without ``Optional``: pydantic does not validate a
default, so absence gives None while an explicit null fails the strict type check.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar
from xml.etree.ElementTree import Element

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError


class WrongType(ValueError):
    """A vendor payload whose fields do not have the documented types; ``zh`` and ``en`` explain it."""

    def __init__(self, zh: str, en: str, loc: str = ""):
        super().__init__(f"{zh} / {en}")
        self.zh, self.en, self.loc = zh, en, loc


class Wire(BaseModel):
    """Base of every wire model: strict, unknown fields kept (and ignored), immutable."""

    model_config = ConfigDict(strict=True, extra="allow", frozen=True)


M = TypeVar("M", bound=Wire)


def check(model: type[M], data: Any, *, prefix: str = "") -> M:
    """``model`` validated from ``data``, or :class:`WrongType` naming the first bad field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise wrong_type(exc, prefix=prefix) from None


def wrong_type(exc: ValidationError, *, prefix: str = "") -> WrongType:
    err = exc.errors(include_url=False, include_input=False, include_context=False)[0]
    loc = ".".join(p for p in (prefix, *(str(x) for x in err["loc"])) if p) or "(body)"
    if err["type"] == "missing":
        return WrongType(f"缺少字段 {loc}", f"field {loc} is missing", loc)
    return WrongType(f"字段 {loc} 的类型或取值不对", f"field {loc}: {err['msg']}", loc)


NonEmpty = Annotated[str, StringConstraints(min_length=1)]
Millis = Annotated[int, Field(ge=0)]


# ---------------------------------------------------------------- DingTalk (PROTOCOLS §1b, Stream SDK)


class DingTalkAtUser(Wire):
    dingtalkId: str = None
    staffId: str = None


class DingTalkText(Wire):
    content: str


class DingTalkRichPart(Wire):
    """One node of ``content.richText``: a text run or a picture (``type`` + download codes)."""

    text: str = None
    type: str = None
    downloadCode: str = None
    pictureDownloadCode: str = None


class DingTalkRichContent(Wire):
    richText: list[DingTalkRichPart]


class DingTalkMediaContent(Wire):
    """``content`` of picture / file / audio / video messages (the Stream SDK shapes)."""

    downloadCode: str = None
    pictureDownloadCode: str = None
    fileName: str = None
    recognition: str = None


class DingTalkCallback(Wire):
    """An enterprise robot message (HTTP callback body or Stream ``callback.data``)."""

    msgId: NonEmpty
    conversationType: Literal["1", "2"]
    msgtype: str = None
    text: DingTalkText = None
    content: dict[str, Any] = None  # typed by msgtype: see :func:`dingtalk_callback`
    conversationId: str = None
    conversationTitle: str = None
    senderId: str = None
    senderNick: str = None
    senderStaffId: str = None
    senderCorpId: str = None
    senderPlatform: str = None
    isAdmin: bool = None
    isInAtList: bool = None
    atUsers: list[DingTalkAtUser] = None
    chatbotUserId: str = None
    chatbotCorpId: str = None
    robotCode: str = None
    createAt: Millis = None
    sessionWebhook: str = None
    sessionWebhookExpiredTime: Millis = None


def dingtalk_callback(data: Any) -> tuple[DingTalkCallback, DingTalkRichContent | DingTalkMediaContent | None]:
    """The callback and its typed ``content`` (richText nodes, or a media message's codes)."""
    if not isinstance(data, dict):
        raise WrongType("请求体不是 JSON 对象", "body is not a JSON object")
    cb = check(DingTalkCallback, data)
    if cb.msgtype == "text" and cb.text is None:
        raise WrongType("缺少字段 text.content", "text message without text.content", "text")
    if cb.content is None:
        if cb.msgtype == "richText":
            raise WrongType("缺少字段 content.richText", "richText message without content", "content")
        return cb, None
    if cb.msgtype == "richText":
        return cb, check(DingTalkRichContent, cb.content, prefix="content")
    return cb, check(DingTalkMediaContent, cb.content, prefix="content")


# ---------------------------------------------------------------- Feishu event v2 (PROTOCOLS §3)


class FeishuHeader(Wire):
    event_id: str = None
    event_type: str = None
    create_time: str = None
    token: str = None
    app_id: str = None
    tenant_key: str = None


class FeishuUserId(Wire):
    union_id: str = None
    user_id: str = None
    open_id: str = None


class FeishuSender(Wire):
    sender_id: FeishuUserId = None
    sender_type: str = None
    tenant_key: str = None


class FeishuMention(Wire):
    key: str = None
    id: FeishuUserId = None
    name: str = None
    tenant_key: str = None


class FeishuMessage(Wire):
    message_id: str = None
    root_id: str = None
    parent_id: str = None
    thread_id: str = None
    create_time: str = None
    update_time: str = None
    chat_id: str = None
    chat_type: str = None
    message_type: str = None
    content: str = None  # a JSON document in a string, parsed by the adapter
    mentions: list[FeishuMention] = None


class FeishuMessageEvent(Wire):
    """``event`` of ``im.message.receive_v1``."""

    sender: FeishuSender = None
    message: FeishuMessage


class FeishuEnvelope(Wire):
    """The v2 envelope: the header is typed for every event, the event body only for messages."""

    schema_: str = Field(None, alias="schema")
    header: FeishuHeader = None
    event: dict[str, Any] = None


# ---------------------------------------------------------------- WeCom decrypted XML (PROTOCOLS §2b)

Digits = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,20}$")]


class WeComMessage(Wire):
    """The decrypted message XML as ``{tag: text}``; every value is text, numbers are digit strings."""

    ToUserName: str = None
    FromUserName: NonEmpty
    CreateTime: Digits = None
    MsgType: NonEmpty
    Content: str = None
    MsgId: Digits = None
    AgentID: Digits = None
    Event: str = None
    EventKey: str = None
    PicUrl: str = None
    MediaId: str = None


MAY_BE_EMPTY = frozenset({"Content", "Event", "EventKey", "PicUrl", "MediaId"})  # e.g. enter_agent's EventKey


def wecom_fields(root: Element) -> dict[str, str]:
    """The children of ``<xml>`` as ``{tag: stripped text}``, refusing what XML's "types" can get wrong
    for a known field: an element given twice (a list), one with child elements (an object), and an
    empty one (null) where a value is required."""
    known = WeComMessage.model_fields
    fields: dict[str, str] = {}
    seen: set[str] = set()
    for child in root:
        tag = child.tag
        if tag not in known:
            continue
        if tag in seen:
            raise WrongType(f"字段 {tag} 出现了多次", f"field {tag} appears more than once", tag)
        seen.add(tag)
        if len(child):
            raise WrongType(f"字段 {tag} 应为文本", f"field {tag} has child elements", tag)
        text = (child.text or "").strip()
        if not text and tag in MAY_BE_EMPTY:
            continue
        if not text:
            raise WrongType(f"字段 {tag} 为空", f"field {tag} is empty", tag)
        fields[tag] = text
    return fields


# ---------------------------------------------------------------- the event API (docs/openapi.yaml)


class EventBatch(Wire):
    """``POST /api/v1/events``: the kind (checked against the schema later) and a list of records.

    A record that is not an object is rejected on its own (its index in ``errors``), like a record
    with a bad value: the batch's good records are still stored (the API's documented contract)."""

    kind: NonEmpty
    records: list[Any]
