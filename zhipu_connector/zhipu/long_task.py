"""An action that starts a task on the platform and, by default, waits for it: described once.

Video and glm-image's async generation are not one request: a submit answers with a task id
at once, and `GET /async-result/{id}` says PROCESSING until the task is SUCCESS or FAIL. A
`LongTask` names the submit route, how inputs become its body and how a task becomes the
output; `long_task_handler` gives the host the sync and async handlers, as `one_request.py`
does for one-request actions (docs/adding-an-action.md).

The waiting is written once, as a sans-IO generator of steps (`Call`, `Sleep`) that the two
drivers perform — the sync one with the shared `ZhipuClient`, the async one with the loop's
`AsyncZhipuClient`:

- the first check comes after `FIRST_CHECK_SECONDS`, and the wait doubles after each check,
  up to the action's `pollInterval` (checks are cheap, but a video takes minutes);
- `timeout` bounds the whole wait; past it the task is left running and the error names its
  id, so Get task result can collect it later;
- each wait honours cancellation (`context.cancel_event` ends it at once; an asyncio
  cancellation ends the async one), and is checked again before every request;
- progress goes to the action's logger (INFO) and, when the caller streams
  (`context.on_partial`), as one line per check, so `run --stream` shows it.

With `waitForResult: false` the action returns the task as submitted (`status: PROCESSING`).

Time is read from, and waits are made with, `timing()`: tests give it a fake clock whose
`sleep` moves the emulator's clock too, so nothing ever really sleeps.
"""

from __future__ import annotations

import importlib
import threading
import time
from collections.abc import Awaitable, Callable, Generator, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from zhipu_connector.host.errors import PluginError
from zhipu_connector.host.registry import ActionHandler
from zhipu_connector.zhipu.errors import InvalidRequestError, ZhipuError, ZhipuTimeoutError
from zhipu_connector.zhipu.platforms import check_served, explain_not_served, platform_of
from zhipu_connector.zhipu.routes import ASYNC_RESULT

if TYPE_CHECKING:
    from zhipu_connector.host.connection import Connection
    from zhipu_connector.host.context import ActionContext
    from zhipu_connector.zhipu.routes import Route

WAIT_INPUT = "waitForResult"
TIMEOUT_INPUT = "timeout"
INTERVAL_INPUT = "pollInterval"
FIRST_CHECK_SECONDS = 1.0
DEFAULT_POLL_INTERVAL = 20.0
DEFAULT_TIMEOUT = 600.0
#: The longest slice an async wait sleeps before looking at `context.cancel_event` again.
CANCEL_CHECK_SECONDS = 0.25

SUCCESS = "SUCCESS"
FAIL = "FAIL"
PROCESSING = "PROCESSING"

#: inputs, request id, platform (None: unknown) → the submit body.
SubmitBody = Callable[[Mapping[str, Any], str, "str | None"], dict[str, Any]]
#: the task's latest answer, its id, the inputs → the action's output.
TaskOutput = Callable[[Mapping[str, Any], str, Mapping[str, Any]], dict[str, Any]]


# --- time ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Timing:
    """The clock the waits are measured on, and how they are made.

    `sleep(seconds, context)` / `asleep(seconds, context)` of None wait on the real clock,
    ending early when the context is cancelled.
    """

    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float, Any], None] | None = None
    asleep: Callable[[float, Any], Awaitable[None]] | None = None


_timing = Timing()
_timing_lock = threading.Lock()


def timing() -> Timing:
    """The timing in force now."""
    return _timing


@contextmanager
def timing_configured(new: Timing) -> Iterator[Timing]:
    """Use `new` inside the block (tests: a fake clock), the previous timing after it."""
    global _timing
    with _timing_lock:
        previous, _timing = _timing, new
    try:
        yield new
    finally:
        with _timing_lock:
            _timing = previous


def _real_sleep(seconds: float, context: ActionContext) -> None:
    if context.cancel_event is not None:
        context.cancel_event.wait(seconds)
    else:
        time.sleep(seconds)


async def _real_asleep(seconds: float, context: ActionContext) -> None:
    import anyio  # imported here: anyio loads asyncio, which a start must not

    end = time.monotonic() + seconds
    while not context.cancelled:
        left = end - time.monotonic()
        if left <= 0:
            return
        await anyio.sleep(min(left, CANCEL_CHECK_SECONDS))


# --- errors -------------------------------------------------------------------------------


def task_failed(task_id: str, answer: Mapping[str, Any], action: str) -> Exception:

    request_id = answer.get("request_id")
    return ZhipuError(
        f"{action}: the platform's task {task_id} ended FAIL (the platform gives no reason; "
        "a prompt or image it judged unsafe is the usual cause)",
        request_id=request_id if isinstance(request_id, str) else None,
    )


def task_timed_out(task_id: str, seconds: float, action: str) -> Exception:

    return ZhipuTimeoutError(
        f"{action}: task {task_id} was still PROCESSING after {seconds:g} s (the timeout); it keeps running on "
        f"the platform — collect it later with Get task result (taskId {task_id}), or set a longer timeout",
        retryable=False,
    )


# --- the steps ----------------------------------------------------------------------------


class Call(NamedTuple):
    """Send `body` (None: a GET) to `route`; the outcome is the checked answer."""

    route: Route
    body: dict[str, Any] | None
    request_id: str
    path_params: Mapping[str, str] | None = None


class Sleep(NamedTuple):
    """Wait `seconds` (or until cancelled); the outcome is None."""

    seconds: float


Step = Call | Sleep


@dataclass(frozen=True, slots=True)
class Waiting:
    """How long to wait for one task and how often to look: from the action's inputs."""

    timeout: float
    poll_interval: float

    @classmethod
    def from_inputs(cls, inputs: Mapping[str, Any], default_timeout: float = DEFAULT_TIMEOUT) -> Waiting:
        timeout = inputs.get(TIMEOUT_INPUT)
        interval = inputs.get(INTERVAL_INPUT)
        return cls(
            timeout=float(timeout) if timeout is not None else default_timeout,
            poll_interval=float(interval) if interval is not None else DEFAULT_POLL_INTERVAL,
        )

    def delays(self) -> Iterator[float]:
        """The waits before each check: 1 s, then doubling, up to `poll_interval`."""
        delay = min(FIRST_CHECK_SECONDS, self.poll_interval)
        while True:
            yield delay
            delay = min(delay * 2, self.poll_interval)


def wait_steps(
    task_id: str,
    waiting: Waiting,
    context: ActionContext,
    request_id: str,
    clock: Callable[[], float],
    *,
    check_at_once: bool = False,
) -> Generator[Step, Any, dict[str, Any]]:
    """Check the task until it is SUCCESS (its answer is returned) or FAIL, or `waiting.timeout` passes.

    `check_at_once`: the first check comes before any wait (a task collected later may be done).
    """
    action = f"{context.component}.{context.action}"
    started = clock()
    deadline = started + waiting.timeout
    delays = waiting.delays()
    checks = 0
    while True:
        if checks or not check_at_once:
            left = deadline - clock()
            if left <= 0:
                raise task_timed_out(task_id, waiting.timeout, action)
            yield Sleep(min(next(delays), left))
            context.check_cancelled()
        answer = yield check_step(task_id, request_id)
        checks += 1
        status = answer.get("task_status")
        if status == SUCCESS:
            _progress(context, f"task {task_id}: SUCCESS after {clock() - started:g} s ({checks} checks)")
            return dict(answer)
        if status == FAIL:
            raise task_failed(task_id, answer, action)
        _progress(context, f"task {task_id}: {status} after {clock() - started:g} s")


def check_step(task_id: str, request_id: str) -> Call:
    """One look at a task: `GET /async-result/{id}`."""

    return Call(ASYNC_RESULT, None, request_id, {"id": task_id})


def _progress(context: ActionContext, line: str) -> None:
    context.logger.info("%s.%s: %s", context.component, context.action, line)
    if context.on_partial is not None:
        context.on_partial(line + "\n")


# --- the description and its handlers -----------------------------------------------------


class LongTask:
    """The one description of an action that starts a task and (by default) waits for it.

    `route`: the submit route (a row of `routes.ROUTES`). `body(inputs, request_id, platform)`:
    the submit body, refusing bad inputs (the platform may be None: unknown). `output(answer,
    task_id, inputs)`: the output from the task's latest answer — the submit's when the action
    does not wait. `default_timeout`: the wait's bound when the inputs set none.
    """

    __slots__ = ("route", "body", "output", "default_timeout")

    def __init__(
        self, route: Route, body: SubmitBody, output: TaskOutput, *, default_timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        self.route = route
        self.body = body
        self.output = output
        self.default_timeout = default_timeout

    def __repr__(self) -> str:
        return f"LongTask({self.route.method} {self.route.path})"

    def steps(
        self, inputs: Mapping[str, Any], connection: Connection, context: ActionContext
    ) -> Generator[Step, Any, dict[str, Any]]:
        """Submit, then (unless `waitForResult` is false) wait; the output."""

        platform = platform_of(connection)
        action = f"{context.component}.{context.action}"
        model = inputs.get("model")
        check_served(self.route.name, action, platform, model if isinstance(model, str) else None)
        body = self.body(inputs, context.request_id, platform)
        given = body.get("request_id")
        request_id = given if isinstance(given, str) and given else context.request_id
        context.check_cancelled()
        submitted = yield Call(self.route, body, request_id)
        task_id = submitted["id"]
        _progress(context, f"task {task_id}: submitted")
        if inputs.get(WAIT_INPUT) is False:
            return self.output(submitted, task_id, inputs)
        waiting = Waiting.from_inputs(inputs, self.default_timeout)
        answer = yield from wait_steps(task_id, waiting, context, request_id, timing().clock)
        return self.output(answer, task_id, inputs)


#: A generator of steps for one call of an action: (inputs, connection, context) → steps.
StepsOf = Callable[[Mapping[str, Any], "Connection", "ActionContext"], Generator[Step, Any, Any]]


def run_steps(steps: Generator[Step, Any, Any], connection: Connection, context: ActionContext, route: str) -> Any:
    """Perform `steps` with the shared sync client; the generator's result."""
    from zhipu_connector.zhipu.connections import sync_client

    sleep = timing().sleep or _real_sleep
    action = f"{context.component}.{context.action}"
    try:
        step = next(steps)  # the inputs are judged before a client is made
    except StopIteration as stop:
        return stop.value
    with sync_client(connection) as client:
        while True:
            outcome: Any = None
            if isinstance(step, Sleep):
                sleep(step.seconds, context)
            else:
                try:
                    outcome = client.call(
                        step.route, step.body, request_id=step.request_id, path_params=step.path_params
                    )
                except ZhipuError as error:
                    raise _explained(error, step, route, action, explain_not_served) from None
            try:
                step = steps.send(outcome)
            except StopIteration as stop:
                return stop.value


async def arun_steps(
    steps: Generator[Step, Any, Any], connection: Connection, context: ActionContext, route: str
) -> Any:
    """`run_steps` on the loop's shared async client."""
    from zhipu_connector.zhipu.connections import async_client

    asleep = timing().asleep or _real_asleep
    action = f"{context.component}.{context.action}"
    try:
        step = next(steps)
    except StopIteration as stop:
        return stop.value
    async with async_client(connection) as client:
        while True:
            outcome: Any = None
            if isinstance(step, Sleep):
                await asleep(step.seconds, context)
            else:
                try:
                    outcome = await client.call(
                        step.route, step.body, request_id=step.request_id, path_params=step.path_params
                    )
                except ZhipuError as error:
                    raise _explained(error, step, route, action, explain_not_served) from None
            try:
                step = steps.send(outcome)
            except StopIteration as stop:
                return stop.value


def _explained(error: Exception, step: Call, route: str, action: str, explain: Callable[..., Exception]) -> Exception:
    """A failed step's error, said in the task's terms: an unknown task id, or an endpoint not served."""
    if step.path_params and getattr(error, "code", None) == "1233":
        task_id = step.path_params.get("id", "")
        return InvalidRequestError(
            f"{action}: the platform knows no task {task_id} — it expired, belongs to another account "
            f"(another key), or never existed: {getattr(error, 'message', error)}",
            status=getattr(error, "status", None),
            code="1233",
            request_id=getattr(error, "request_id", None),
        )
    return explain(error, route, action)


def steps_handler(target: str, *, route: str) -> ActionHandler:
    """The sync and async handlers of a steps function (or a `LongTask`) named `"module:NAME"`.

    Imported when the action first runs, as `one_request_handler` does, so that start-up
    imports neither the action's module, httpx nor the client.
    """
    module_name, _, name = target.partition(":")
    if not module_name or not name:
        raise PluginError(f"action description {target!r} is not of the form 'module:NAME'")
    resolved: list[StepsOf] = []

    def described() -> StepsOf:
        if not resolved:
            try:
                found = getattr(importlib.import_module(module_name), name)
            except (ImportError, AttributeError) as error:
                raise PluginError(f"action description {target!r} cannot be loaded: {error}") from error
            if isinstance(found, LongTask):
                found = found.steps
            if not callable(found):
                raise PluginError(f"{target!r} is neither a LongTask nor a steps function")
            resolved.append(found)
        return resolved[0]

    def run(inputs: Mapping[str, Any], connection: Connection, context: ActionContext) -> Any:
        return run_steps(described()(inputs, connection, context), connection, context, route)

    async def arun(inputs: Mapping[str, Any], connection: Connection, context: ActionContext) -> Any:
        return await arun_steps(described()(inputs, connection, context), connection, context, route)

    run.__qualname__ = arun.__qualname__ = target
    return ActionHandler(run=run, arun=arun)


def long_task_handler(target: str, *, route: str) -> ActionHandler:
    """The handlers of the `LongTask` named `"module:NAME"` (whose submit route is `route`)."""
    return steps_handler(target, route=route)
