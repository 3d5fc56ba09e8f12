"""Personal data (个人信息保护法): deleting a customer everywhere, retention sweeps, and the deletions'
upkeep of every derived store. Masking at rest is ``analytics.textmodel.pii.mask_at_rest``, applied
by ``analytics.ingest`` under ``[privacy] mask_at_rest``. docs/privacy.md is the whole picture.

Modules (imports point one way: ``forget`` → ``rows``, ``scrub``; ``retention`` → ``rows``):

- ``rows`` — :func:`delete_rows`: delete raw rows by id, keeping rollups, 热词 and 质检 sums exact;
- ``scrub`` — redact a customer's id and texts from every other table (reflection, text and JSON columns);
- ``forget`` — :func:`forget_customer` (``csbot forget``, ``/删除客户``);
- ``mask_stored`` — :func:`mask_stored`: mask rows stored before ``mask_at_rest`` (``csbot mask-stored``);
- ``retention`` — :func:`sweep` (``[retention]``, the daily job in ``bot.jobs.retention``) and :func:`due`.
"""

from __future__ import annotations

from analytics.privacy.forget import Forgotten, forget_customer, has_customer, reference
from analytics.privacy.mask_stored import mask_stored
from analytics.privacy.retention import RETENTION_KINDS, due, sweep
from analytics.privacy.rows import delete_rows

__all__ = ["RETENTION_KINDS", "Forgotten", "delete_rows", "due", "forget_customer", "has_customer", "mask_stored",
           "reference", "sweep"]
