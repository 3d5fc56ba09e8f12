"""Linear text models over sparse binary features, evaluated with NumPy/SciPy only.

A model file (``.npz``) holds:

- ``vocab``: the feature strings joined by ``\\n`` and UTF-8 encoded (a uint8 array, so
  loading needs no pickle);
- ``scale``: one factor per feature (IDF, or NB log-count ratio), either one column
  shared by all outputs or one column per output;
- ``weights`` (n_features x n_outputs) and ``bias`` (n_outputs);
- ``meta``: a JSON string (version, outputs, char n-gram orders, normalisation,
  training provenance).

For a text with the feature set F and output k, ``x_k[j] = scale[j, k]`` for j in F (0
otherwise), optionally L2-normalised; ``logit_k = x_k @ weights[:, k] + bias[k]``.  scikit-learn is only used to
fit these numbers; inference is one sparse matrix product for a whole batch.
"""

from __future__ import annotations

import io
import json
import threading
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import numpy as np
from scipy import sparse

from .features import text_features
from .tokenize import CsTokenizer, default_tokenizer


def encode_vocab(vocab: Sequence[str]) -> np.ndarray:
    joined = "\n".join(vocab)
    return np.frombuffer(joined.encode("utf-8"), dtype=np.uint8)


def decode_vocab(arr: np.ndarray) -> list[str]:
    text = arr.tobytes().decode("utf-8")
    return text.split("\n") if text else []


@dataclass
class LinearTextModel:
    """A linear model over binary text features (see the module docstring)."""

    vocab: list[str]
    scale: np.ndarray
    weights: np.ndarray
    bias: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)
    tokenizer: CsTokenizer | None = None

    def __post_init__(self) -> None:
        self.index = {f: i for i, f in enumerate(self.vocab)}
        self.weights = np.asarray(self.weights, dtype=np.float64)
        if self.weights.ndim == 1:
            self.weights = self.weights[:, None]
        self.scale = np.asarray(self.scale, dtype=np.float64)
        if self.scale.ndim == 1:
            self.scale = self.scale[:, None]
        if self.scale.shape[1] not in (1, self.weights.shape[1]):
            raise ValueError("scale needs one column or one per output")
        self.bias = np.asarray(self.bias, dtype=np.float64).reshape(-1)
        if not (len(self.vocab) == len(self.scale) == self.weights.shape[0]):
            raise ValueError("model arrays disagree on the number of features")

    @property
    def char_orders(self) -> tuple[int, ...]:
        return tuple(self.meta.get("char_orders", (1, 2, 3)))

    @property
    def words(self) -> bool:
        return bool(self.meta.get("words", True))

    @property
    def hmm(self) -> bool:
        return bool(self.meta.get("hmm", True))

    @property
    def neg_scope(self) -> bool:
        return bool(self.meta.get("neg_scope", False))

    @property
    def l2(self) -> bool:
        return self.meta.get("norm", "l2") == "l2"

    @property
    def outputs(self) -> list[str]:
        return list(self.meta.get("outputs", [str(i) for i in range(self.weights.shape[1])]))

    def _tok(self) -> CsTokenizer:
        return self.tokenizer or default_tokenizer()

    def feature_ids(self, text: str) -> list[int]:
        """Sorted distinct vocabulary ids of the text's features."""
        index = self.index
        ids = {index[f] for f in text_features(text, self._tok(), self.char_orders, self.words, self.hmm, self.neg_scope) if f in index}
        return sorted(ids)

    def binary(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """The batch's 0/1 feature matrix."""
        indptr = [0]
        indices: list[int] = []
        for text in texts:
            indices.extend(self.feature_ids(text))
            indptr.append(len(indices))
        idx = np.asarray(indices, dtype=np.int64)
        return sparse.csr_matrix((np.ones(len(idx)), idx, np.asarray(indptr)), shape=(len(texts), len(self.vocab)))

    def _scaled(self, b: sparse.csr_matrix, column: int) -> sparse.csr_matrix:
        x = sparse.csr_matrix(b, copy=True)
        x.data = self.scale[x.indices, column]
        if self.l2:
            norms = np.sqrt(np.bincount(np.repeat(np.arange(x.shape[0]), np.diff(x.indptr)),
                                        weights=x.data**2, minlength=x.shape[0]))
            norms[norms == 0] = 1.0
            x.data /= np.repeat(norms, np.diff(x.indptr))
        return x

    def logits(self, texts: Sequence[str]) -> np.ndarray:
        """(n_texts, n_outputs) decision values."""
        n_out = self.weights.shape[1]
        if not texts:
            return np.zeros((0, n_out))
        b = self.binary(texts)
        if self.scale.shape[1] == 1:
            return np.asarray(self._scaled(b, 0) @ self.weights) + self.bias
        out = np.empty((len(texts), n_out))
        for k in range(n_out):
            out[:, k] = self._scaled(b, k) @ self.weights[:, k] + self.bias[k]
        return out

    def save(self, path) -> None:
        """Write a ``.npz`` whose bytes depend only on the arrays (fixed zip timestamps)."""
        arrays = {
            "vocab": encode_vocab(self.vocab),
            "scale": self.scale.astype(np.float32),
            "weights": self.weights.astype(np.float32),
            "bias": self.bias.astype(np.float64),
            "meta": np.frombuffer(json.dumps(self.meta, ensure_ascii=False, sort_keys=True).encode("utf-8"),
                                  dtype=np.uint8),
        }
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for name, arr in arrays.items():
                info = zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                buf = io.BytesIO()
                np.lib.format.write_array(buf, np.ascontiguousarray(arr), allow_pickle=False)
                zf.writestr(info, buf.getvalue())

    @classmethod
    def load(cls, source, tokenizer: CsTokenizer | None = None) -> LinearTextModel:
        """Load from a path or a binary file object."""
        with np.load(source, allow_pickle=False) as z:
            meta = json.loads(z["meta"].tobytes().decode("utf-8"))
            return cls(
                vocab=decode_vocab(z["vocab"]),
                scale=z["scale"],
                weights=z["weights"],
                bias=z["bias"],
                meta=meta,
                tokenizer=tokenizer,
            )


_loaded: dict[str, LinearTextModel] = {}
_load_lock = threading.Lock()


def shipped_model(name: str) -> LinearTextModel:
    """A model file from ``analytics/data`` loaded once per process."""
    model = _loaded.get(name)
    if model is None:
        with _load_lock:
            model = _loaded.get(name)
            if model is None:
                ref = resources.files("analytics").joinpath("data", name)
                with ref.open("rb") as fh:
                    model = LinearTextModel.load(io.BytesIO(fh.read()))
                _loaded[name] = model
    return model


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)
