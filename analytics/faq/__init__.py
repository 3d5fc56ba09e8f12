"""Repeated customer questions: extraction, normalisation, clustering and ranking, pure.

What belongs here: finding questions in customer messages, normalising them (personal data masked
with ``analytics.textmodel.pii``), clustering paraphrases, and ranking clusters into knowledge-base
or auto-reply suggestions with a candidate answer mined from agents' replies.

``analytics.faq.cluster(questions) -> list[int]`` is a SPEC.md evaluation hook (−1 = joins no
cluster). The chat workflow (``/知识库``) lives in ``handlers``, the weekly push in ``bot.jobs``. May
import ``analytics.textmodel``, ``analytics.store`` and ``analytics.periods``; never ``bot`` or
``handlers``.

The API, by module (each module's docstring has the details):

- ``extract``: ``extract(text) -> str | None`` (the normalised question, ``None`` for a message that
  asks nothing), ``normalize(text) -> str``, ``is_question(text) -> bool``;
- ``similarity``: ``canonical(question)`` (synonyms unified, filler dropped), the intent markers
  (``problem_marker``, ``question_kind``) and the hashed TF-IDF ``Featurizer``;
- ``cluster``: ``cluster(questions, params=DEFAULT) -> list[int]`` and ``ClusterParams`` (the shipped
  operating point);
- ``index``: ``ClusterIndex`` — ``fit(questions)``, ``assign(new_questions)`` (new questions join
  existing clusters without re-clustering the history), ``to_state()`` / ``from_state(state)`` (plain
  JSON), ``clusters()``.

Everything here is CPU-bound and synchronous: call it from a worker thread, not the event loop.
"""

from .cluster import DEFAULT, ClusterParams, cluster
from .extract import extract, is_question, normalize
from .index import ClusterIndex
from .similarity import canonical, problem_marker, question_kind

__all__ = [
    "DEFAULT", "ClusterIndex", "ClusterParams", "canonical", "cluster", "extract", "is_question", "normalize",
    "problem_marker", "question_kind",
]
