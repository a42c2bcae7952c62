"""The catalog's outbox (``search_change``): one row per changed service, written in the change's transaction.

The search index applies the rows past its cursor (``directory.search.index``) and the page caches use the
newest id as the catalog's version (``directory.catalog.cache``); ``directory.search.sync`` writes them.
It lives in the catalog so both can read it without the catalog depending on search."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from directory.extensions import db
from directory.models_base import UTCDateTime, utcnow


class SearchChange(db.Model):
    """One service whose search documents must be rebuilt. Append-only; each index keeps its own cursor."""

    __tablename__ = "search_change"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    service_id: Mapped[str] = mapped_column(String(36), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
