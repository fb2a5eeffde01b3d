"""A task as the actions return it, and the Get task result action.

Video and async image generation return the same task shape, whether they waited or not:
`{taskId, status, model?, requestId?, videos?, images?}` — the platform's `task_status`
(PROCESSING, SUCCESS, FAIL), the video and cover URLs of a finished video task, the image URLs
of a finished image task. A PROCESSING answer is sparse on the platform (no `model`, no
result), so only `taskId` and `status` are sure to be there.

Get task result looks at a task once and returns what it is now — a FAIL is a status then,
not an error — or, with `waitForResult: true`, waits for it by the same rules as the actions
that start tasks (`long_task.py`); a task that ends FAIL while waited for is an error.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from typing import TYPE_CHECKING, Any

from zhipu_connector.host.errors import InputValidationError, Problem
from zhipu_connector.zhipu.errors import MalformedResponseError
from zhipu_connector.zhipu.long_task import SUCCESS, WAIT_INPUT, Step, Waiting, check_step, timing, wait_steps

if TYPE_CHECKING:
    from zhipu_connector.host.connection import Connection
    from zhipu_connector.host.context import ActionContext

ACTION = "zhipu.getTaskResult"


def task_output(answer: Mapping[str, Any], task_id: str, *, needs: str | None = None) -> dict[str, Any]:
    """The task shape from an answer of the submit or of `/async-result`.

    `needs` (`videos` or `images`): a SUCCESS must carry that result, or the answer is malformed.
    """
    request_id = answer.get("request_id")
    status = answer.get("task_status")
    if not isinstance(status, str) or not status:
        raise MalformedResponseError(
            f"the answer about task {task_id} has no task_status",
            status=200,
            request_id=request_id if isinstance(request_id, str) else None,
        )
    output: dict[str, Any] = {"taskId": task_id, "status": status}
    model = answer.get("model")
    if isinstance(model, str) and model:
        output["model"] = model
    if isinstance(request_id, str) and request_id:
        output["requestId"] = request_id
    videos = _results(answer.get("video_result"), task_id, "video", request_id)
    if videos is not None:
        output["videos"] = [_video(item) for item in videos]
    images = _results(answer.get("image_result"), task_id, "image", request_id)
    if images is not None:
        output["images"] = [{"url": item["url"]} for item in images]
    if status == SUCCESS and needs is not None and not output.get(needs):
        raise MalformedResponseError(
            f"task {task_id} is SUCCESS but its answer has no {needs}",
            status=200,
            request_id=request_id if isinstance(request_id, str) else None,
        )
    return output


def _results(value: Any, task_id: str, kind: str, request_id: Any) -> list[dict[str, Any]] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(
        isinstance(item, dict) and isinstance(item.get("url"), str) and item["url"] for item in value
    ):
        raise MalformedResponseError(
            f"the {kind} result of task {task_id} is not a list of items with a 'url'",
            status=200,
            request_id=request_id if isinstance(request_id, str) else None,
        )
    return value


def _video(item: Mapping[str, Any]) -> dict[str, Any]:
    video = {"url": item["url"]}
    cover = item.get("cover_image_url")
    if isinstance(cover, str) and cover:
        video["coverImageUrl"] = cover
    return video


def get_task_result(
    inputs: Mapping[str, Any], connection: Connection, context: ActionContext
) -> Generator[Step, Any, dict[str, Any]]:
    """The Get task result action's steps: one look, or a wait with `waitForResult`."""
    task_id = inputs.get("taskId")
    if not isinstance(task_id, str) or not task_id.strip() or "/" in task_id:
        raise InputValidationError(
            [Problem("taskId", "Task ID must be the id a task-starting action returned (no spaces or '/')")],
            subject=ACTION,
        )
    task_id = task_id.strip()
    context.check_cancelled()
    if inputs.get(WAIT_INPUT) is True:
        answer = yield from wait_steps(
            task_id, Waiting.from_inputs(inputs), context, context.request_id, timing().clock, check_at_once=True
        )
    else:
        answer = yield check_step(task_id, context.request_id)
    return task_output(answer, task_id)
