"""Timed work: the scheduler (APScheduler's AsyncIOScheduler with a persistent job store in the bot's
database) and the jobs it runs (digests, alert evaluation, FAQ refresh, retention sweeps).

This is the only place that starts timed work: nothing else in ``bot``, ``handlers`` or ``analytics``
creates a timer or a periodic task. A job decides *whether* to act with pure functions from
``analytics`` (``analytics.digests``, ``analytics.alerts``, ``analytics.faq``) that take ``now`` as an
argument, claims the (job, run) pair in the database so that one replica acts once, and hands what
it built to the outbox (``bot.delivery``) for sending.

May import: ``bot.delivery``, ``bot.config``, ``handlers`` (a command's reply built on schedule) and
``analytics``. Must not import ``bot.web`` or a platform adapter: it sends through the outbox only.
"""
