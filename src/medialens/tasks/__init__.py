"""Tasks: what one job (or one synchronous request) does, from media reference to analysis result.

A task fetches and decodes media through ``medialens.media``, runs an analysis from ``medialens.analyses`` with the
models it needs, and returns the analysis' typed result. Tasks know nothing of wire formats; protocols map their
actions onto task names and format the stored results.
"""

from medialens.tasks.base import TaskContext, TaskInput, TaskSpec, get_task, result_payload, task_available
from medialens.tasks.registry import TASKS

__all__ = ["TASKS", "TaskContext", "TaskInput", "TaskSpec", "get_task", "result_payload", "task_available"]
