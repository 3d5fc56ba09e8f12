"""WeCom callback crypto: the official Tencent vectors, wechatpy as an independent client, bad input."""

from __future__ import annotations

import base64
import struct

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given, settings
from hypothesis import strategies as st
from wechatpy.enterprise.crypto import WeChatCrypto

from bot.adapters import wecom_crypto as wc
from bot.adapters.wecom import parse_message
from bot.adapters.wecom_crypto import WeComCrypto, WeComCryptoError

TOKEN, AES_KEY, CORP_ID = "QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "wx5823bf96d3bd56c7"
# LeoEatle/WXBizMsgCryptNode Sample.cpp (a copy of Tencent's official C++ sample), PROTOCOLS appendix.
GET_VECTOR = dict(msg_signature="5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3", timestamp="1409659589",
                  nonce="263014780",
                  echostr="P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==")
POST_ENCRYPT = (
    "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3"
    "TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gs"
    "ijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUa"
    "x5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIG"
    "HBZZIs2pDBS8R07+qN+E7Q=="
)
POST_VECTOR = dict(msg_signature="477715d11cdb4164915debcba66cb864d751f3e6", timestamp="1409659813",
                   nonce="1372623149", encrypt=POST_ENCRYPT)


@pytest.fixture
def ours() -> WeComCrypto:
    return WeComCrypto(TOKEN, AES_KEY, CORP_ID)


@pytest.fixture
def theirs() -> WeChatCrypto:
    return WeChatCrypto(TOKEN, AES_KEY, CORP_ID)


def test_official_get_vector(ours):
    assert ours.verify_url(**GET_VECTOR) == "1616140317555161061"


def test_official_post_vector(ours):
    inner = ours.decrypt_message(**POST_VECTOR)
    msg = parse_message(inner, corp_id=CORP_ID)
    assert msg is not None
    assert (msg.user_id, msg.text, msg.message_id) == ("mycreate", "hello", "4561255354251345929")
    assert msg.reply_handle["agent_id"] == "218"


def test_official_signatures_are_sha1_of_sorted_values():
    assert wc.signature(TOKEN, GET_VECTOR["timestamp"], GET_VECTOR["nonce"], GET_VECTOR["echostr"]) == \
        GET_VECTOR["msg_signature"]
    assert wc.signature(TOKEN, "1409659813", "1372623149", POST_ENCRYPT) == POST_VECTOR["msg_signature"]


@pytest.mark.parametrize("length", range(0, 70))
def test_wechatpy_encrypts_we_decrypt(ours, theirs, length):
    # covers every padding length 1..32, including a whole extra 32-byte block
    msg = ("x" * length)
    env = theirs.encrypt_message(msg, "nonce1", "1700000000")
    from xml.etree import ElementTree as ET

    root = ET.fromstring(env)
    assert ours.decrypt_message(root.find("MsgSignature").text, "1700000000", "nonce1",
                                root.find("Encrypt").text) == msg


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=300))
def test_we_encrypt_wechatpy_decrypts(text):
    ours = WeComCrypto(TOKEN, AES_KEY, CORP_ID)
    theirs = WeChatCrypto(TOKEN, AES_KEY, CORP_ID)
    envelope = ours.encrypt_reply(text, "1700000000", "n0nce")
    from xml.etree import ElementTree as ET

    root = ET.fromstring(envelope)
    enc = root.find("Encrypt").text
    assert len(base64.b64decode(enc)) % 32 == 0  # PKCS#7 to 32-byte blocks, as WeCom requires
    plain = theirs.decrypt_message(envelope, root.find("MsgSignature").text, "1700000000", "n0nce")
    assert plain == text


def test_bad_signature_rejected(ours):
    bad = dict(POST_VECTOR, msg_signature="0" * 40)
    with pytest.raises(WeComCryptoError) as err:
        ours.decrypt_message(**bad)
    assert err.value.code == wc.VALIDATE_SIGNATURE


def test_echostr_is_part_of_the_signature(ours):
    other = WeComCrypto(TOKEN, AES_KEY, CORP_ID).encrypt("1616140317555161061")
    with pytest.raises(WeComCryptoError) as err:
        ours.verify_url(GET_VECTOR["msg_signature"], GET_VECTOR["timestamp"], GET_VECTOR["nonce"], other)
    assert err.value.code == wc.VALIDATE_SIGNATURE


def test_receiveid_must_be_our_corp(theirs):
    other_corp = WeChatCrypto(TOKEN, AES_KEY, "ww-not-our-corp")
    from xml.etree import ElementTree as ET

    root = ET.fromstring(other_corp.encrypt_message("<xml/>", "n", "1700000000"))
    with pytest.raises(WeComCryptoError) as err:
        WeComCrypto(TOKEN, AES_KEY, CORP_ID).decrypt_message(root.find("MsgSignature").text, "1700000000", "n",
                                                             root.find("Encrypt").text)
    assert err.value.code == wc.VALIDATE_CORPID


def _raw_encrypt(plain: bytes) -> str:
    key = base64.b64decode(AES_KEY + "=")
    enc = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(enc.update(plain) + enc.finalize()).decode()


def _buffer(msg: bytes) -> bytes:
    return b"0123456789abcdef" + struct.pack(">I", len(msg)) + msg + CORP_ID.encode()


def _bad_pad(kind: str) -> bytes:
    buf = _buffer(b"<xml>hi</xml>")
    n = (-len(buf)) % 32 or 32
    assert n >= 2
    if kind == "zero":  # a pad byte of 0 is never valid
        return buf + b"\x00" * n
    if kind == "too_long":  # a pad length above the 32-byte block
        return buf + bytes([33]) * n
    return buf + bytes([1]) * (n - 1) + bytes([n])  # "inconsistent": the pad bytes disagree


@pytest.mark.parametrize("kind", ["zero", "too_long", "inconsistent"])
def test_invalid_padding_rejected(ours, kind):
    plain = _bad_pad(kind)
    assert len(plain) % 32 == 0
    with pytest.raises(WeComCryptoError) as err:
        ours.decrypt(_raw_encrypt(plain))
    assert err.value.code == wc.DECRYPT


def test_length_field_beyond_buffer_rejected(ours):
    buf = b"0123456789abcdef" + struct.pack(">I", 10_000) + b"<xml/>" + CORP_ID.encode()
    with pytest.raises(WeComCryptoError) as err:
        ours.decrypt(_raw_encrypt(wc.pkcs7_pad(buf)))
    assert err.value.code == wc.ILLEGAL_BUFFER


@pytest.mark.parametrize("encrypt", ["not base64 !!", "", base64.b64encode(b"short").decode(),
                                     base64.b64encode(b"x" * 33).decode()])
def test_garbage_ciphertext_rejected(ours, encrypt):
    with pytest.raises(WeComCryptoError):
        ours.decrypt(encrypt)


@pytest.mark.parametrize("key", ["", "short", AES_KEY[:-1] + "!", AES_KEY + "A"])
def test_bad_aes_key_rejected(key):
    with pytest.raises(WeComCryptoError) as err:
        WeComCrypto(TOKEN, key, CORP_ID)
    assert err.value.code == wc.ILLEGAL_AES_KEY


def test_pkcs7_round_trip_all_lengths():
    for n in range(0, 100):
        data = bytes(range(n % 256)) * 1
        padded = wc.pkcs7_pad(data)
        assert len(padded) % 32 == 0 and 1 <= len(padded) - len(data) <= 32
        assert wc.pkcs7_unpad(padded) == data
