"""What the API (producer) and the workers (consumers) must agree on: queue names, task names, which queue a task's
jobs go to, and the Celery app's configuration.

Both sides build their Celery app here, so ``celery_executor`` (API) and ``celery_app`` (worker entry) depend on
this module and never on each other.
"""

from __future__ import annotations

from celery import Celery
from kombu import Queue

from medialens.config import Settings
from medialens.tasks import get_task

QUEUES = ("image", "video", "index", "gpu")
DEFAULT_QUEUE = "video"
TASK_NAME = "medialens.run_job"
SYNC_TASK_NAME = "medialens.run_sync"


def queue_for(task: str) -> str:
    """The queue a task's jobs go to: its ``queue`` if it names one, else its ``media_kind``; else ``video``."""
    try:
        spec = get_task(task)
    except KeyError:
        return DEFAULT_QUEUE
    kind = getattr(spec, "queue", None) or spec.media_kind
    return kind if kind in QUEUES else DEFAULT_QUEUE


def make_celery(settings: Settings) -> Celery:
    """A Celery app for ``settings.broker_url`` (producers and workers build the same one)."""
    app = Celery("medialens", broker=settings.broker_url, set_as_current=False)
    app.conf.update(
        task_queues=[Queue(q, routing_key=q) for q in QUEUES],
        task_default_queue=DEFAULT_QUEUE,
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,  # outcomes live in the jobs table
        result_backend=None,
        # a message is acknowledged only after its job ran; a lost worker's message goes back to the queue
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        # Redis redelivers an unacknowledged message after this long. Longer than any job, so a slow job is not
        # run twice; a lost worker's job comes back much sooner through its lease (the recovery scan).
        broker_transport_options={
            "visibility_timeout": settings.broker_visibility_timeout_s,
            "socket_timeout": 10,
            "socket_connect_timeout": 5,
            "retry_on_timeout": True,
        },
        broker_connection_retry=True,
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,  # reconnect for ever after a broker restart
        broker_heartbeat=10,
        worker_cancel_long_running_tasks_on_connection_loss=False,  # the jobs table guards against doubles
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        task_send_sent_event=False,
        broker_channel_error_retry=True,
    )
    return app
