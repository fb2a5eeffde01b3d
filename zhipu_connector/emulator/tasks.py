"""Asynchronous tasks (video, async image, async chat) and `GET /async-result/{id}`.

A task is PROCESSING until `task_seconds` have passed on the emulator's clock, then SUCCESS
(or FAIL, when a fault asked for it); nothing runs in the background, the state is read off
the clock when polled, so a test moves a task on by moving a fake clock. Faults:
`task_fail` ends the task FAIL, `task_stuck` keeps it PROCESSING for ever, `task_lost` hands
out an id that polling does not know (400 / 1233, as for an expired or unknown id).
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import ApiError

TASK_MEMORY = 10_000


@dataclass(slots=True)
class Task:
    """One submitted task: when it finishes, how, and the body a finished poll returns."""

    id: str
    owner: str
    request_id: str
    model: str
    created: float
    done_at: float | None  # None: never (task_stuck)
    fails: bool
    result: dict[str, Any]
    with_id: bool


class TaskStore:
    """The tasks handed out recently (bounded LRU), their state read off `clock`."""

    def __init__(self, clock: Callable[[], float], seconds: float, capacity: int = TASK_MEMORY) -> None:
        self._clock = clock
        self._seconds = seconds
        self._capacity = capacity
        self._tasks: OrderedDict[str, Task] = OrderedDict()
        self._count = 0

    def submit(
        self,
        owner: str,
        model: str,
        request_id: str | None,
        fingerprint: str,
        result: dict[str, Any],
        fault: str | None,
        *,
        with_id: bool = False,
    ) -> dict[str, Any]:
        """Start a task; return the submit reply `{model, id, request_id, task_status}`.

        `with_id`: the finished poll carries the task's `id` too (async chat does; the video
        and image results' schemas have none).
        """
        now = self._clock()
        self._count += 1
        digest = hashlib.sha256(f"{fingerprint}\0{self._count}".encode()).hexdigest()
        task_id = time.strftime("%Y%m%d%H%M%S", time.gmtime(now)) + digest[:16]
        task = Task(
            id=task_id,
            owner=owner,
            request_id=request_id or task_id,
            model=model,
            created=now,
            done_at=None if fault == "task_stuck" else now + self._seconds,
            fails=fault == "task_fail",
            result=result,
            with_id=with_id,
        )
        if fault != "task_lost":
            self._tasks[task_id] = task
            if len(self._tasks) > self._capacity:
                self._tasks.popitem(last=False)
        return {"model": model, "id": task_id, "request_id": task.request_id, "task_status": "PROCESSING"}

    def poll(self, owner: str, task_id: str) -> dict[str, Any]:
        """The poll reply: sparse while PROCESSING, the model's result on SUCCESS, or FAIL.

        A task is visible only to the account that created it, as on the platform.
        """
        task = self._tasks.get(task_id)
        if task is None or task.owner != owner:
            raise ApiError(400, "1233", f"Task {task_id} does not exist (任务不存在)")
        if task.done_at is None or self._clock() < task.done_at:
            return {"id": task.id, "request_id": task.request_id, "task_status": "PROCESSING"}
        if task.fails:
            return {"model": task.model, "task_status": "FAIL", "request_id": task.request_id}
        head = {"id": task.id} if task.with_id else {}
        return {"model": task.model, **task.result, **head, "task_status": "SUCCESS", "request_id": task.request_id}
