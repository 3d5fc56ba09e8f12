"""Build WeCom callbacks the way WeCom does, with wechatpy as an independent implementation."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from wechatpy.enterprise.crypto import WeChatCrypto

TOKEN, AES_KEY, CORP_ID = "QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "wx5823bf96d3bd56c7"
NOW = 1_732_600_000


def crypto(corp_id: str = CORP_ID, token: str = TOKEN) -> WeChatCrypto:
    return WeChatCrypto(token, AES_KEY, corp_id)


def inner_text(content: str, *, user: str = "zhangsan", msg_id: str = "1234567890123456", ts: int = NOW,
               agent_id: int = 1000002, corp_id: str = CORP_ID) -> str:
    return (f"<xml><ToUserName><![CDATA[{corp_id}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
            f"<CreateTime>{ts}</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{content}]]>"
            f"</Content><MsgId>{msg_id}</MsgId><AgentID>{agent_id}</AgentID></xml>")


def post(inner: str, *, ts: int = NOW, nonce: str = "1372623149", corp_id: str = CORP_ID,
         token: str = TOKEN, agent_id: int = 1000002) -> tuple[dict[str, str], str]:
    """(query params, body XML) exactly as WeCom would POST them."""
    env = ET.fromstring(crypto(corp_id, token).encrypt_message(inner, nonce, str(ts)))
    enc, sig = env.find("Encrypt").text, env.find("MsgSignature").text
    body = (f"<xml><ToUserName><![CDATA[{corp_id}]]></ToUserName><AgentID><![CDATA[{agent_id}]]></AgentID>"
            f"<Encrypt><![CDATA[{enc}]]></Encrypt></xml>")
    return {"msg_signature": sig, "timestamp": str(ts), "nonce": nonce}, body


def get_verify(plain: str = "1616140317555161061", *, ts: int = NOW, nonce: str = "263014780") -> dict[str, str]:
    """Query params of the URL-verification GET; the server must answer ``plain``."""
    env = ET.fromstring(crypto().encrypt_message(plain, nonce, str(ts)))
    return {"msg_signature": env.find("MsgSignature").text, "timestamp": str(ts), "nonce": nonce,
            "echostr": env.find("Encrypt").text}
