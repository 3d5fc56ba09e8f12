"""Training code path on tiny samples (the full model is trained by `csbot train-sentiment`)."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from analytics.textmodel import chatgen, corpora
from analytics.textmodel.complaint_train import ComplaintTrainConfig
from analytics.textmodel.complaint_train import fit as fit_complaints
from analytics.textmodel.features import text_features
from analytics.textmodel.model import LinearTextModel, sigmoid, softmax
from analytics.textmodel.tokenize import CsTokenizer
from analytics.textmodel.train import Corpus, TrainConfig, fit_model, write_model
from analytics.textmodel.train_all import main

sklearn = pytest.importorskip("sklearn", reason="training needs scikit-learn")

needs_datasets = pytest.mark.skipif(
    not corpora.datasets_available(),
    reason=f"shared datasets not found at {corpora.datasets_dir()} (set CSBOT_DATASETS)",
)

TINY = TrainConfig(words=False, char_orders=(1, 2), neg_scope=True, min_df=1, c_polarity=2.0, c_neutral=2.0)


def tiny_corpus() -> Corpus:
    corpus = Corpus([], [], [], [])
    for i, line in enumerate(chatgen.generate(240, seed=7)):
        pol = {"pos": 1, "neg": 0}.get(line.label)
        corpus.add(line.text, pol, int(line.label == "neu"), 1.0 + (i % 3), "chatgen")
    return corpus


def test_tiny_model_equals_an_independent_sklearn_pipeline(tmp_path) -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    corpus = tiny_corpus()
    model = fit_model(corpus, TINY)
    path = tmp_path / "m.npz"
    model.save(path)
    loaded = LinearTextModel.load(path)
    tok = CsTokenizer()
    analyzer = lambda t: sorted(set(text_features(t, tok, TINY.char_orders, words=False, neg_scope=True)))  # noqa: E731
    vec = TfidfVectorizer(analyzer=analyzer, binary=True, norm="l2", smooth_idf=True, lowercase=False)
    x = vec.fit_transform(corpus.texts)
    assert list(vec.get_feature_names_out()) == loaded.vocab
    probe = ["谢谢亲，问题解决了", "快递太慢了", "请问能开发票吗", "这个东西还行吧"]
    got = loaded.logits(probe)
    for k, labels in enumerate((corpus.polarity, corpus.neutral)):
        rows = [i for i, v in enumerate(labels) if v is not None]
        clf = LogisticRegression(C=2.0, solver="liblinear", random_state=TINY.seed, max_iter=1000)
        clf.fit(x[rows], [labels[i] for i in rows], sample_weight=[corpus.weight[i] for i in rows])
        # float32 storage of the weights bounds the difference
        assert got[:, k] == pytest.approx(clf.decision_function(vec.transform(probe)), abs=1e-4)


def test_training_is_deterministic() -> None:
    a = fit_model(tiny_corpus(), TINY)
    b = fit_model(tiny_corpus(), TINY)
    assert a.vocab == b.vocab
    assert np.array_equal(a.weights, b.weights) and np.array_equal(a.bias, b.bias)


def test_nb_scaling_and_pruning_paths() -> None:
    cfg = replace(TINY, scale_polarity="nb", prune_below=0.05)
    model = fit_model(tiny_corpus(), cfg)
    assert model.scale.shape == (len(model.vocab), 2)
    assert np.abs(model.weights).max(axis=1).min() > 0  # pruned features are gone
    p = sigmoid(model.logits(["质量太差了，差评", "非常满意，谢谢"])[:, 0])
    assert p[0] < 0.5 < p[1]


def test_complaint_model_matches_sklearn_probabilities() -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    pairs = list(chatgen.iter_complaints(chatgen.generate(400, seed=3)))
    texts, labels = [t for t, _ in pairs], [c for _, c in pairs]
    cfg = ComplaintTrainConfig(words=True, hmm=False, char_orders=(1, 2), neg_scope=False, min_df=1, c=1.0)
    model = fit_complaints(texts, labels, [1.0] * len(texts), cfg)
    tok = CsTokenizer()
    vec = TfidfVectorizer(analyzer=lambda t: sorted(set(text_features(t, tok, (1, 2), words=True, hmm=False))),
                          binary=True, norm="l2", smooth_idf=True, lowercase=False)
    x = vec.fit_transform(texts)
    classes = model.outputs
    clf = LogisticRegression(C=1.0, max_iter=2000, random_state=cfg.seed)
    clf.fit(x, [classes.index(c) for c in labels])
    probe = ["发票开错了", "快递三天没动", "客服不理人", "东西坏了"]
    assert softmax(model.logits(probe)) == pytest.approx(clf.predict_proba(vec.transform(probe)), abs=1e-4)


def test_cli_needs_the_datasets(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("CSBOT_DATASETS", str(tmp_path / "absent"))
    assert main(["--out-dir", str(tmp_path)]) == 2
    assert not any(tmp_path.iterdir())


def test_pinned_cases_are_not_training_data() -> None:
    from tests.test_text_sentiment import NOT_NEG, PINNED

    train = {e.text for e in corpora.read_labelled_tsv(corpora.CHAT_DATA_DIR / "chat_sentiment_train.tsv")}
    generated = {ln.text for ln in chatgen.generate(TrainConfig.generated_chat, seed=TrainConfig.seed)}
    for message in [m for m, _ in PINNED] + NOT_NEG:
        assert message not in train and message not in generated


def test_held_out_sets_never_leak_into_training() -> None:
    held_out = corpora.held_out_texts()
    assert len(held_out) > 300
    from analytics.textmodel.train import assemble

    corpus = assemble(replace(TrainConfig(), generated_chat=3000), {}, [], corpora.read_labelled_tsv(
        corpora.CHAT_DATA_DIR / "chat_sentiment_train.tsv"))
    from analytics.textmodel.tokenize import normalize

    assert not held_out & {normalize(t) for t in corpus.texts}


@needs_datasets
def test_train_on_a_sample_of_the_real_datasets(tmp_path) -> None:
    from analytics.textmodel.train import train_sentiment

    cfg = replace(TrainConfig(), max_reviews=300, atec_sample=200, generated_chat=300,
                  review_sample_for_neutral=200, words=False, char_orders=(1, 2))
    model = train_sentiment(cfg)
    prov = write_model(model, tmp_path / "sentiment_model.npz", "test")
    text = prov.read_text(encoding="utf-8")
    assert "online_shopping_10_cats.train.csv" in text and ".test" not in text
    loaded = LinearTextModel.load(tmp_path / "sentiment_model.npz")
    assert loaded.outputs == ["polarity", "neutral"]
    assert loaded.meta["sources"]["atec_pairs.train"] == 200


def test_saved_files_are_byte_reproducible(tmp_path) -> None:
    model = fit_model(tiny_corpus(), TINY)
    model.save(tmp_path / "a.npz")
    fit_model(tiny_corpus(), TINY).save(tmp_path / "b.npz")
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()
    again = LinearTextModel.load(tmp_path / "a.npz")
    assert again.vocab == model.vocab and again.meta == json.loads(json.dumps(model.meta))
