"""Repeated customer questions: extraction, normalisation, clustering and ranking, pure.

What belongs here: finding questions in customer messages, normalising them (personal data masked
with ``analytics.textmodel.pii``), clustering paraphrases, and ranking clusters into knowledge-base
or auto-reply suggestions with a candidate answer mined from agents' replies.

``analytics.faq.cluster(questions) -> list[int]`` is a SPEC.md evaluation hook (−1 = joins no
cluster). The chat workflow (``/知识库``) lives in ``handlers``, the weekly push in ``bot.jobs``. May
import ``analytics.textmodel``, ``analytics.store`` and ``analytics.periods``; never ``bot`` or
``handlers``.
"""
