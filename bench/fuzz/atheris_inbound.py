"""Coverage-guided fuzzing (atheris / libFuzzer) of the byte-level inbound paths: WeCom crypto, WeCom XML,
Feishu decrypt, the DingTalk and Feishu JSON parsers. A finding is any exception other than the
module's own error (``WeComCryptoError``, ``MalformedMessage``, ``BadEvent``, ``PayloadError``, and
the JSON errors the routes turn into 400).

    pip install atheris                          # a manylinux wheel, seconds
    python bench/fuzz/atheris_inbound.py -max_total_time=60

The hypothesis suites in tests/test_fuzz_parsers.py are what CI runs; this is the longer,
coverage-guided run, by hand (figures in bench/README.md).
"""

from __future__ import annotations

import base64
import json
import sys

import atheris

with atheris.instrument_imports():
    from bot.adapters import feishu, payloads, wecom, wecom_crypto
    from bot.adapters.dingtalk import PayloadError, parse_callback

TOKEN, AES_KEY, CORP_ID = "QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "wx5823bf96d3bd56c7"
CRYPTO = wecom_crypto.WeComCrypto(TOKEN, AES_KEY, CORP_ID)
OWN = (wecom_crypto.WeComCryptoError, wecom.MalformedMessage, feishu.BadEvent, PayloadError, payloads.WrongType)


def one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    target = fdp.ConsumeIntInRange(0, 4)
    rest = fdp.ConsumeBytes(fdp.remaining_bytes())
    try:
        if target == 0:
            CRYPTO.decrypt(base64.b64encode(rest).decode())
        elif target == 1:
            wecom.parse_message(rest.decode("utf-8", "replace"), corp_id=CORP_ID)
        elif target == 2:
            feishu.decrypt("fuzz-key", base64.b64encode(rest).decode())
        elif target == 3:
            parse_callback(json.loads(rest))
        else:
            payload = json.loads(rest)
            if isinstance(payload, dict):
                feishu.parse_event(payload)
    except OWN:
        pass
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # json.loads: the routes' 400
        if target not in (3, 4):
            raise exc


def main() -> None:
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
