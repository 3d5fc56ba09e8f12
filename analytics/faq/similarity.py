"""How alike two customer questions are: a canonical form, hashed TF-IDF vectors and intent markers.

``canonical(question)`` rewrites a question (already :func:`analytics.faq.extract.normalize`-d, or raw:
it normalises again, which is idempotent) so that paraphrases look alike:

- customer-service synonyms to one word (``SYNONYMS``): 啥时候/何时/几时/哪天 → 什么时候, 发出/寄出/
  出货 → 发货, 物流/包裹 → 快递, 退钱 → 退款, 质保 → 保修, 能不能/可不可以/能否/能 → 可以, 咋/如何/
  怎样 → 怎么, typos such as 优惠卷 → 优惠券;
- words that carry no intent dropped (``DROP``): 请问, 本订单, 我的, 这个, 一下, 预计, 大概, 吗, 呢 …

so ``啥时候发货`` and ``请问本订单预计何时发出`` both become ``什么时候发货``.

``Featurizer`` turns canonical forms into L2-normalised sparse vectors: character 1–3-grams (robust to
segmentation and typos) and jieba words, each hashed (CRC-32, stable across processes, so a persisted
index needs no vocabulary) into ``2**20`` columns and weighted by a smoothed IDF fitted on the questions
being clustered (kept in the index state so later questions are weighed the same way).

``markers(question)`` are the intent slots that must agree for two questions to be the same one:

- ``problem``: a report that something went wrong — 用不了, 开错, 没收到, 还没, 失败, 坏了 … — so
  ``有优惠券吗`` (asks whether there is one) and ``优惠券用不了`` (it fails) stay apart, and so do
  ``可以开发票吗`` and ``发票开错了怎么改``;
- ``kind``: the question type, one of when / how-long / how-much / why / how / can / where / other.

Each row of ``Featurizer.transform`` is two L2-normalised parts side by side, the TF-IDF vector scaled by
``√(1−w)`` and the question's *character set* (distinct characters, question words left out) scaled by
``√w``, w = ``CHARSET_WEIGHT`` = 0.3; so the dot product of two rows is ``0.7 · TF-IDF cosine + 0.3 ·
|A∩B|/√(|A|·|B|)``.  The set overlap forgives reordering and inserted words (退款几天到账 / 退的钱多久到),
which n-grams punish; it was the strongest feature of a pair classifier fitted on atec_pairs.train
(bench/faq/README.md).  Being a dot product, it keeps the candidate search and average linkage exact.

The similarity used by the clustering (:mod:`analytics.faq.cluster`) is that dot product, multiplied by
``PROBLEM_MISMATCH`` when the problem markers differ and by ``KIND_MISMATCH`` when both questions have a
type and the types differ (a why-question is not a how-question).
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from scipy import sparse

from .extract import normalize

DIM = 1 << 20
# Weight of the character-set overlap beside the TF-IDF cosine (module docs).
CHARSET_WEIGHT = 0.3
PROBLEM_MISMATCH = 0.55
KIND_MISMATCH = 0.8

# (pattern, replacement), applied in order; longest spellings first inside one alternation.
SYNONYMS: tuple[tuple[str, str], ...] = (
    (r"啥时候|啥时间|什么时间|何时|几时|哪天|几号|多会儿|什么日子", "什么时候"),
    (r"多长时间|多少天|几天|多少时间|要多久|需要多久", "多久"),
    (r"为啥|为何|咋回事|怎么回事|什么原因|啥原因", "为什么"),
    (r"啥", "什么"),
    (r"咋样|怎样|如何", "怎么"),
    (r"咋", "怎么"),
    (r"能不能|可不可以|能否|可否|是否可以|是否能|可以不可以|行不行|能够|能", "可以"),
    (r"有没有|有木有|有无", "有"),
    (r"是不是|是否", "是"),
    (r"发出|寄出|出货|发走|寄走|安排发货", "发货"),
    (r"物流|包裹|快件", "快递"),
    (r"退钱|钱退|退费|退回的钱|退的钱", "退款"),
    (r"质保|保修期|包修", "保修"),
    (r"优惠卷|优惠劵|优惠卡|卷(?=用|能|可)", "优惠券"),
    (r"码数|尺寸|号码大小|大小", "尺码"),
    (r"邮费", "运费"),
    (r"调换|更换", "换"),
    (r"修改|更改|改一下|变更", "改"),
    (r"收货地址|地址信息|寄送地址", "地址"),
    (r"人工客服|真人|人工服务", "人工"),
    (r"货到付款", "货到付款"),
    (r"到货|送到|收到货|能到|到我这|送达", "到货"),
)
_SYNONYM_RES = tuple((re.compile(p), r) for p, r in SYNONYMS)
DROP = re.compile(
    r"请问|麻烦|本订单|这个订单|我的订单|这单|这个|那个|这款|我的|我们|你们|您们|一下|一般|大概|大约|预计|"
    r"到底|现在|目前|大概|请|帮忙|亲|呢|吗|啊|呀|吧|哦|嘛|了|的|您|你|我|，"
)

QUESTION_WORDS = re.compile(r"什么时候|多久|为什么|什么|怎么办|怎么|可以|多少钱|多少|哪里|哪儿|哪个|在哪|是")
_PROBLEM = re.compile(
    r"不了|不上|不开|不进|不能|不可以|没法|无法|失败|错误|报错|异常|出错|开错|填错|写错|拍错|发错|寄错|错了|"
    r"没收到|没有收到|收不到|没到|还没|没发|没有发|不发|少发|漏发|少了|缺了|坏了|破了|碎了|烂了|漏了|"
    r"不对|不一样|不符|有问题|质量问题|掉色|起球|不见了|一直|怎么还|还不|太慢|不退|不给|拒绝|被拒|未通过|不通过|"
    r"没通过|不成功|没成功|不足|降了|减少|扣了|多扣|重复|被扣|有误|弄错|搞错"
)
_KINDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("why", re.compile(r"为什么|为啥|为何|怎么回事|什么原因")),
    ("when", re.compile(r"什么时候|啥时候|何时|几时|哪天|几号|几点")),
    ("howlong", re.compile(r"多久|多长时间|几天|多少天")),
    ("howmuch", re.compile(r"多少钱|多少|几块|价格|价钱|费用")),
    ("where", re.compile(r"哪里|哪儿|在哪|哪个")),
    ("how", re.compile(r"怎么|如何|怎样|咋|方法|步骤|流程")),
)


def canonical(question: str) -> str:
    """The question with synonyms unified and intent-free words dropped (module docs)."""
    return analyse(question)[0]


def _canonical_of_normalized(normalized: str) -> str:
    text = normalized
    for pattern, repl in _SYNONYM_RES:
        text = pattern.sub(repl, text)
    text = DROP.sub("", text)
    return text or normalized


@lru_cache(maxsize=262144)
def analyse(question: str) -> tuple[str, bool, int]:
    """(canonical form, problem marker, kind code) of a question, normalising it once."""
    normalized = normalize(question)
    kind = next((i + 1 for i, (_, pattern) in enumerate(_KINDS) if pattern.search(normalized)), 0)
    return _canonical_of_normalized(normalized), bool(_PROBLEM.search(normalized)), kind


def problem_marker(question: str) -> bool:
    """Whether the question reports that something went wrong (用不了, 开错, 没收到 …)."""
    return analyse(question)[1]


def question_kind(question: str) -> str:
    """when / howlong / howmuch / why / where / how, or "" when none of those words is there."""
    code = analyse(question)[2]
    return _KINDS[code - 1][0] if code else ""


KIND_CODES = {"": 0} | {name: i + 1 for i, (name, _) in enumerate(_KINDS)}


def markers(questions: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """(problem flags as bool array, kind codes as int array; 0 = no kind) for each question."""
    problem = np.fromiter((problem_marker(q) for q in questions), dtype=bool, count=len(questions))
    kinds = np.fromiter((KIND_CODES[question_kind(q)] for q in questions),
                        dtype=np.int8, count=len(questions))
    return problem, kinds


def pair_penalty(problem_a: np.ndarray, kind_a: np.ndarray, problem_b: np.ndarray,
                 kind_b: np.ndarray) -> np.ndarray:
    """The factor the cosine of each pair (a[i], b[i]) is multiplied by (elementwise; broadcasts)."""
    out = np.where(problem_a != problem_b, PROBLEM_MISMATCH, 1.0)
    differ = (kind_a != kind_b) & (kind_a > 0) & (kind_b > 0)
    return out * np.where(differ, KIND_MISMATCH, 1.0)


def penalty(problem_a: np.ndarray, kind_a: np.ndarray, problem_b: np.ndarray, kind_b: np.ndarray) -> np.ndarray:
    """The factor matrix for every pair of a × b (shape len(a) × len(b))."""
    return pair_penalty(problem_a[:, None], kind_a[:, None], problem_b[None, :], kind_b[None, :])


def _hash(feature: str) -> int:
    return zlib.crc32(feature.encode("utf-8")) & (DIM - 1)


def _topic_text(canon: str) -> str:
    # Question words are carried by the kind marker; left in the vector they outweigh the topic in short
    # questions (退款什么时候到账 is not 什么时候发货).
    return QUESTION_WORDS.sub("", canon.replace(" ", "")) or canon


def words(canon: str) -> tuple[str, ...]:
    """The jieba words :func:`features` uses for a canonical question (kept by callers that store them, so
    clustering later needs no tokenizer: :func:`features_of`)."""
    from analytics.textmodel.tokenize import default_tokenizer

    return tuple(w for w in default_tokenizer().cut(_topic_text(canon), hmm=False) if w.strip())


@lru_cache(maxsize=262144)
def features_of(canon: str, tokens: tuple[str, ...]) -> tuple[int, ...]:
    """:func:`features` with the jieba words given (``tokens`` = :func:`words` of ``canon``)."""
    text = _topic_text(canon)
    out: list[str] = []
    for n in (1, 2, 3):
        out.extend("c" + text[i:i + n] for i in range(len(text) - n + 1))
    out.extend("w" + w for w in tokens)
    return tuple(_hash(f) for f in out)


@lru_cache(maxsize=262144)
def features(canon: str) -> tuple[int, ...]:
    """Hashed feature ids of a canonical question: char 1–3-grams and jieba words (with repeats)."""
    return features_of(canon, words(canon))


@lru_cache(maxsize=262144)
def char_set(canon: str) -> tuple[int, ...]:
    """Hashed ids of the distinct characters of a canonical question without its question words."""
    text = QUESTION_WORDS.sub("", canon.replace(" ", "")) or canon
    return tuple(sorted({_hash("s" + ch) for ch in text}))


class Featurizer:
    """Hashed TF-IDF over canonical questions; ``idf`` is fitted once and then kept (module docs)."""

    def __init__(self, idf_index: np.ndarray | None = None, idf_value: np.ndarray | None = None,
                 n_docs: int = 0) -> None:
        self.n_docs = n_docs
        self.idf_index = idf_index if idf_index is not None else np.zeros(0, dtype=np.int64)
        self.idf_value = idf_value if idf_value is not None else np.zeros(0, dtype=np.float32)
        self._default = float(np.log((1 + n_docs) / 1) + 1)

    @classmethod
    def fit(cls, canons: Sequence[str], feats: Sequence[tuple[int, ...]] | None = None) -> Featurizer:
        """IDF over ``canons`` (``feats``: their :func:`features`, when the caller has them)."""
        counts = np.zeros(DIM, dtype=np.int32)
        for f in feats if feats is not None else map(features, canons):
            ids = np.unique(np.fromiter(f, dtype=np.int64))
            counts[ids] += 1
        index = np.flatnonzero(counts)
        n = len(canons)
        value = (np.log((1 + n) / (1 + counts[index])) + 1).astype(np.float32)
        return cls(index, value, n)

    def _idf(self, cols: np.ndarray) -> np.ndarray:
        out = np.full(len(cols), self._default, dtype=np.float32)
        if len(self.idf_index):
            pos = np.minimum(np.searchsorted(self.idf_index, cols), len(self.idf_index) - 1)
            found = self.idf_index[pos] == cols
            out[found] = self.idf_value[pos[found]]
        return out

    def transform(self, canons: Sequence[str], feats: Sequence[tuple[int, ...]] | None = None) -> sparse.csr_matrix:
        """Rows ``[√(1−w)·tfidf, √w·charset]``, each part L2-normalised, so the dot product of two rows is
        ``(1−w)·cosine(tfidf) + w·|A∩B|/√(|A|·|B|)`` over their character sets (w = ``CHARSET_WEIGHT``).
        ``feats``: the canons' :func:`features`, when the caller has them."""
        indptr = [0]
        cols: list[int] = []
        for f in feats if feats is not None else map(features, canons):
            cols.extend(f)
            indptr.append(len(cols))
        col = np.asarray(cols, dtype=np.int64)
        data = np.ones(len(col), dtype=np.float32)
        m = sparse.csr_matrix((data, col, np.asarray(indptr)), shape=(len(canons), DIM))
        m.sum_duplicates()
        m.data = np.log1p(m.data) * self._idf(m.indices)
        tfidf = _l2(m)
        sets = [char_set(c) for c in canons]
        set_ptr = np.cumsum([0] + [len(x) for x in sets])
        set_col = np.fromiter((i for x in sets for i in x), dtype=np.int64, count=int(set_ptr[-1]))
        b = sparse.csr_matrix((np.ones(len(set_col), dtype=np.float32), set_col, set_ptr), shape=(len(canons), DIM))
        both = sparse.hstack([tfidf * np.float32(np.sqrt(1 - CHARSET_WEIGHT)),
                              _l2(b) * np.float32(np.sqrt(CHARSET_WEIGHT))], format="csr")
        return sparse.csr_matrix(both, dtype=np.float32)


def _l2(m: sparse.csr_matrix) -> sparse.csr_matrix:
    norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sparse.csr_matrix(sparse.diags(1.0 / norms).dot(m), dtype=np.float32)
