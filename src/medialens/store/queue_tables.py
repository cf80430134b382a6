"""Tables of the EAS queue service (Model Hub asynchronous inference): every queue's items and its index counter.

A service ``svc`` has an input queue named ``svc`` and a sink ``svc/sink``. An input item links the core job that
runs it; once that job has finished the item moves to the sink (deleted from the input queue, a sink item with the
same request id and the job's link inserted, in one transaction). Indexes grow per queue and are never reused.

A watcher that has been sent an item and not committed it holds a claim (``consumer``, ``claimed_until``): other
watchers of the queue skip it; the claim ends with the watcher (released, so the item is delivered again) or, if
its process died, when ``claimed_until`` has passed. A commit ends it for good (the item is consumed and dropped).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, DateTime, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from medialens.store.tables import Base, IdType, utcnow


class QueueItem(Base):
    __tablename__ = "eas_queue_items"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    queue: Mapped[str] = mapped_column(String(140))
    idx: Mapped[int] = mapped_column(BigInteger)
    request_id: Mapped[str] = mapped_column(String(64), index=True)
    tags: Mapped[dict] = mapped_column(JSON, default=dict)
    data: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    # input items: the job that runs the request; sink items: the job whose outcome they carry
    job_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("jobs.id", ondelete="SET NULL"), nullable=True)
    # what the protocol needs to answer for the job (the model and the request's own fields)
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    message: Mapped[str] = mapped_column(Text, default="")
    # the watcher (its X-EAS-QueueService-Redis-Uid) the item was sent to and that has not committed it yet
    consumer: Mapped[str | None] = mapped_column(String(64), nullable=True)
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (
        UniqueConstraint("queue", "idx", name="uq_eas_queue_items_queue_idx"),
        Index("ix_eas_queue_items_job_id", "job_id"),
    )


class QueueCounter(Base):
    __tablename__ = "eas_queue_counters"

    queue: Mapped[str] = mapped_column(String(140), primary_key=True)
    last_index: Mapped[int] = mapped_column(BigInteger, default=0)
