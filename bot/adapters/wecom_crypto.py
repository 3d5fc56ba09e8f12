"""WeCom callback crypto (企业微信 "加解密方案"), implemented from the spec.

* ``msg_signature = sha1("".join(sorted([token, timestamp, nonce, encrypt])))``
* ``AESKey = b64decode(EncodingAESKey + "=")`` (32 bytes); AES-256-CBC with ``IV = AESKey[:16]``
* plaintext = 16 random bytes + ``len(msg)`` as 4-byte big-endian + msg + receiveid (the CorpID),
  padded with PKCS#7 to a multiple of **32** bytes (pad length 1..32, validated on decrypt).

Error codes follow Tencent's WXBizMsgCrypt so logs match the official samples.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK = 32

# WXBizMsgCrypt codes
VALIDATE_SIGNATURE = -40001
PARSE_XML = -40002
ILLEGAL_AES_KEY = -40004
VALIDATE_CORPID = -40005
DECRYPT = -40007
ILLEGAL_BUFFER = -40008


class WeComCryptoError(Exception):
    """A callback that fails verification or decryption; ``code`` is the WXBizMsgCrypt code."""

    def __init__(self, code: int, message: str):
        super().__init__(f"{message} ({code})")
        self.code = code


def pkcs7_pad(data: bytes, block: int = BLOCK) -> bytes:
    n = block - len(data) % block
    return data + bytes([n]) * n


def pkcs7_unpad(data: bytes, block: int = BLOCK) -> bytes:
    """Strip PKCS#7 padding, checking that the pad length is 1..block and every pad byte agrees."""
    if not data or len(data) % 16:
        raise WeComCryptoError(ILLEGAL_BUFFER, "ciphertext length is not a multiple of the AES block")
    n = data[-1]
    if not 1 <= n <= block or n > len(data) or data[-n:] != bytes([n]) * n:
        raise WeComCryptoError(DECRYPT, "invalid PKCS#7 padding")
    return data[:-n]


def signature(token: str, timestamp: str, nonce: str, encrypt: str) -> str:
    """WeCom's msg_signature: sha1 over the lexically sorted, concatenated four values."""
    return hashlib.sha1("".join(sorted([token, timestamp, nonce, encrypt])).encode("utf-8")).hexdigest()


def decode_aes_key(encoding_aes_key: str) -> bytes:
    if len(encoding_aes_key) != 43:
        raise WeComCryptoError(ILLEGAL_AES_KEY, "EncodingAESKey must be 43 characters")
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except (binascii.Error, ValueError):
        raise WeComCryptoError(ILLEGAL_AES_KEY, "EncodingAESKey is not Base64") from None
    if len(key) != 32:
        raise WeComCryptoError(ILLEGAL_AES_KEY, "EncodingAESKey does not decode to 32 bytes")
    return key


class WeComCrypto:
    """Verify, decrypt and encrypt WeCom callback payloads for one app."""

    def __init__(self, token: str, encoding_aes_key: str, receive_id: str):
        self._token = token
        self._key = decode_aes_key(encoding_aes_key)
        self.receive_id = receive_id

    def _cipher(self) -> Cipher:
        return Cipher(algorithms.AES(self._key), modes.CBC(self._key[:16]))

    def sign(self, timestamp: str, nonce: str, encrypt: str) -> str:
        return signature(self._token, timestamp, nonce, encrypt)

    def check_signature(self, msg_signature: str, timestamp: str, nonce: str, encrypt: str) -> None:
        expected = self.sign(timestamp, nonce, encrypt)
        if not hmac.compare_digest(expected.encode(), (msg_signature or "").lower().encode()):
            raise WeComCryptoError(VALIDATE_SIGNATURE, "msg_signature does not match")

    def decrypt(self, encrypt: str) -> str:
        """The message inside ``encrypt``; raises unless the padding and receiveid check out."""
        try:
            raw = base64.b64decode(encrypt, validate=True)
        except (binascii.Error, ValueError):
            raise WeComCryptoError(DECRYPT, "Encrypt is not Base64") from None
        if not raw or len(raw) % 16:
            raise WeComCryptoError(ILLEGAL_BUFFER, "ciphertext length is not a multiple of the AES block")
        decryptor = self._cipher().decryptor()
        plain = pkcs7_unpad(decryptor.update(raw) + decryptor.finalize())
        if len(plain) < 20:
            raise WeComCryptoError(ILLEGAL_BUFFER, "plaintext too short")
        (length,) = struct.unpack(">I", plain[16:20])
        if 20 + length > len(plain):
            raise WeComCryptoError(ILLEGAL_BUFFER, "message length exceeds the plaintext")
        msg, receive_id = plain[20 : 20 + length], plain[20 + length :]
        if not hmac.compare_digest(receive_id, self.receive_id.encode("utf-8")):
            raise WeComCryptoError(VALIDATE_CORPID, "receiveid does not match the CorpID")
        try:
            return msg.decode("utf-8")
        except UnicodeDecodeError:
            raise WeComCryptoError(DECRYPT, "message is not UTF-8") from None

    def encrypt(self, msg: str, *, random16: bytes | None = None) -> str:
        """Base64 ciphertext of ``msg`` as WeCom builds it (random prefix unless given)."""
        prefix = random16 if random16 is not None else os.urandom(16)
        if len(prefix) != 16:
            raise ValueError("random16 must be 16 bytes")
        body = msg.encode("utf-8")
        plain = prefix + struct.pack(">I", len(body)) + body + self.receive_id.encode("utf-8")
        encryptor = self._cipher().encryptor()
        return base64.b64encode(encryptor.update(pkcs7_pad(plain)) + encryptor.finalize()).decode("ascii")

    def verify_url(self, msg_signature: str, timestamp: str, nonce: str, echostr: str) -> str:
        """The URL-verification GET: check the signature over echostr and return its plaintext."""
        self.check_signature(msg_signature, timestamp, nonce, echostr)
        return self.decrypt(echostr)

    def decrypt_message(self, msg_signature: str, timestamp: str, nonce: str, encrypt: str) -> str:
        """A callback POST's ``Encrypt`` field: verified, then decrypted to the inner XML."""
        self.check_signature(msg_signature, timestamp, nonce, encrypt)
        return self.decrypt(encrypt)

    def encrypt_reply(self, reply_xml: str, timestamp: str, nonce: str) -> str:
        """The passive-reply envelope ``<xml><Encrypt/><MsgSignature/><TimeStamp/><Nonce/></xml>``."""
        enc = self.encrypt(reply_xml)
        sig = self.sign(timestamp, nonce, enc)
        return (f"<xml><Encrypt><![CDATA[{enc}]]></Encrypt><MsgSignature><![CDATA[{sig}]]></MsgSignature>"
                f"<TimeStamp>{timestamp}</TimeStamp><Nonce><![CDATA[{nonce}]]></Nonce></xml>")
