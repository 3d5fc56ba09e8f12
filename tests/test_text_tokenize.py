"""Tokenizer: customer-service dictionary, stopwords, user words, one-time thread-safe init."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from analytics import text
from analytics.textmodel.tokenize import CsTokenizer, normalize


def test_tokenize_drops_stopwords_and_punctuation() -> None:
    tokens = text.tokenize("请问这个什么时候发货呀？顺丰还是中通")
    assert "发货" in tokens and "顺丰" in tokens and "中通" in tokens
    for stop in ("请问", "这个", "什么", "呀", "？", "还是"):
        assert stop not in tokens


def test_domain_words_stay_whole() -> None:
    tok = CsTokenizer()
    for word in ("七天无理由", "运费险", "退货退款", "好评返现", "菜鸟驿站"):
        assert word in tok.cut(f"我想问一下{word}怎么弄")


def test_user_words_extend_the_dictionary() -> None:
    tok = CsTokenizer()
    sentence = "我买的云朵柔肤巾有点硬"
    assert "云朵柔肤巾" not in tok.cut(sentence)
    tok.add_words(["云朵柔肤巾"])  # also clears cached segmentations
    assert "云朵柔肤巾" in tok.cut(sentence)


def test_user_words_added_before_first_use() -> None:
    tok = CsTokenizer()
    tok.add_words(["星河手环"])
    assert "星河手环" in tok.cut("星河手环不亮了")


def test_normalize_full_width_and_spaces() -> None:
    assert normalize("ＯＫ，收到！  好的") == "ok,收到! 好的"
    assert normalize("") == ""


def test_concurrent_first_use_initialises_once() -> None:
    tok = CsTokenizer()
    msgs = ["快递太慢了", "客服态度很好", "怎么申请退款"] * 20
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(tok.tokenize, msgs))
    assert results == [tok.tokenize(m) for m in msgs]
    assert tok._jieba is not None


def test_configure_applies_user_words() -> None:
    text.configure(complaint_rules=None, user_words=["极光充电宝"])
    try:
        assert "极光充电宝" in text.tokenize("极光充电宝充不进电")
    finally:
        text.configure(None, None)
