"""The runner: tasks in order through dispatch, outputs kept by name, failures that keep what was done."""

from __future__ import annotations

import asyncio
import threading

import pytest
from connectors import echo

from zhipu_connector.host.errors import (
    ActionCancelledError,
    ActionFailedError,
    HandlerCrashedError,
    OutputValidationError,
)
from zhipu_connector.host.secrets import MASK
from zhipu_connector.workflow.errors import ReferenceResolutionError, WorkflowRunError
from zhipu_connector.workflow.model import parse_workflow
from zhipu_connector.workflow.runner import arun_workflow, run_workflow

ECHO = {"echo": {"apiKey": "echo-key-0123456789"}}

CHAIN = """
label: Chain
inputs:
  - {name: topic, required: true}
  - {name: times, type: integer, defaultValue: 2}
tasks:
  - name: shout_1
    type: echo/v1/shout
    parameters: {text: "${topic} ", times: "${inputs.times}", loud: true}
  - name: nap_1
    type: flaky/v1/nap
    parameters: {id: "${shout_1.length}", warning: "napped for ${shout_1.text}"}
  - name: template_1
    type: core/v1/textTemplate
    parameters:
      template: "{first} scored {score}; {count} chars"
      values: {first: "${nap_1.items[0].name}", score: "${nap_1.items[0].score}", count: "${nap_1.id}"}
  - name: log_1
    type: core/v1/logger
    parameters: {message: "${template_1}"}
outputs:
  - {name: report, value: "${log_1}"}
  - {name: sizes, value: ["${shout_1.length}", "${nap_1.id}"]}
"""


def run(host, workflow, inputs=None, connections=ECHO, mode="sync", **options):
    if mode == "sync":
        return run_workflow(host, workflow, inputs, connections, **options)
    return asyncio.run(arun_workflow(host, workflow, inputs, connections, **options))


@pytest.fixture(params=["sync", "async"])
def mode(request):
    return request.param


def test_tasks_run_in_order_and_each_output_feeds_the_next(workflow_host, mode):
    events = []
    result = run(workflow_host, parse_workflow(CHAIN), {"topic": "kite"}, mode=mode, on_event=events.append)
    assert result.tasks == {
        "shout_1": {"text": "KITE KITE ", "length": 10},
        "nap_1": {"id": 10, "items": [{"name": "first", "score": 0.5}, {"name": "second"}]},
        "template_1": "first scored 0.5; 10 chars",
        "log_1": "first scored 0.5; 10 chars",
    }
    assert result.outputs == {"report": "first scored 0.5; 10 chars", "sizes": [10, 10]}
    assert result.warnings == {"nap_1": ["napped for KITE KITE "]}
    assert [(e.kind, e.task.name) for e in events] == [
        ("start", "shout_1"),
        ("finish", "shout_1"),
        ("start", "nap_1"),
        ("finish", "nap_1"),
        ("start", "template_1"),
        ("finish", "template_1"),
        ("start", "log_1"),
        ("finish", "log_1"),
    ]
    assert events[2].parameters == {"id": 10, "warning": "napped for KITE KITE "}
    assert events[3].warnings == ("napped for KITE KITE ",)
    assert result.to_dict()["warnings"] == {"nap_1": ["napped for KITE KITE "]}
    assert echo.calls[0]["inputs"] == {"text": "kite ", "times": 2, "loud": True}


FAILING_MIDDLE = """
tasks:
  - {name: shout_1, type: echo/v1/shout, parameters: {text: hi}}
  - {name: broken_1, type: echo/v1/broken, parameters: {mode: "${shout_1.text}"}}
  - {name: log_1, type: core/v1/logger, parameters: {message: never}}
"""


def test_a_failing_middle_task_stops_the_run_and_keeps_the_outputs_so_far(workflow_host, mode):
    events = []
    workflow = parse_workflow(FAILING_MIDDLE.replace("${shout_1.text}", "crash"))
    with pytest.raises(WorkflowRunError) as caught:
        run(workflow_host, workflow, mode=mode, on_event=events.append)
    error = caught.value
    assert (error.task, error.index, error.task_type) == ("broken_1", 1, "echo/v1/broken")
    assert isinstance(error.cause, HandlerCrashedError)
    assert error.outputs == {"shout_1": {"text": "hi", "length": 2}}
    assert str(error).startswith(
        "task broken_1 (tasks[1], echo/v1/broken) failed: echo.broken failed unexpectedly: RuntimeError: boom with key "
    )
    assert "echo-key-0123456789" not in str(error) and MASK in str(error)
    assert [(e.kind, e.task.name) for e in events][-2:] == [("start", "broken_1"), ("fail", "broken_1")]
    details = error.to_dict()
    assert details["task"] == "broken_1" and details["cause"]["type"] == "HandlerCrashedError"
    assert "echo-key-0123456789" not in repr(details)


def test_an_output_that_breaks_its_schema_fails_the_task(workflow_host, mode):
    with pytest.raises(WorkflowRunError) as caught:
        run(workflow_host, parse_workflow(FAILING_MIDDLE), mode=mode)
    assert isinstance(caught.value.cause, OutputValidationError) and caught.value.task == "broken_1"


def test_a_reference_without_a_value_at_run_time_fails_its_task(workflow_host, mode):
    workflow = parse_workflow("""
tasks:
  - {name: nap_1, type: flaky/v1/nap}
  - {name: log_1, type: core/v1/logger, parameters: {message: "${nap_1.items[5].name}"}}
""")
    with pytest.raises(WorkflowRunError) as caught:
        run(workflow_host, workflow, mode=mode)
    assert caught.value.task == "log_1" and isinstance(caught.value.cause, ReferenceResolutionError)
    assert (
        str(caught.value.cause) == "tasks[1].parameters: ${nap_1.items[5].name}: nap_1.items has 2 item(s), no index 5"
    )
    assert list(caught.value.outputs) == ["nap_1"]


def test_upstream_failures_are_retried_up_to_max_retries(workflow_host, mode):
    workflow = parse_workflow("""
tasks:
  - {name: s_1, type: flaky/v1/sometimes, maxRetries: 2, parameters: {key: a, failures: 2}}
""")
    events, delays = [], []
    result = run(
        workflow_host,
        workflow,
        mode=mode,
        on_event=events.append,
        retry_delay=lambda attempt: delays.append(attempt) or 0,
    )
    assert result.tasks == {"s_1": {"attempts": 3}}
    assert delays == [1, 2]
    assert [(e.kind, e.attempt) for e in events] == [
        ("start", 1),
        ("retry", 1),
        ("start", 2),
        ("retry", 2),
        ("start", 3),
        ("finish", 1),
    ]


def test_retries_run_out(workflow_host, mode):
    workflow = parse_workflow(
        "tasks:\n  - {name: s_1, type: flaky/v1/sometimes, maxRetries: 1, parameters: {key: b, failures: 5}}\n"
    )
    with pytest.raises(WorkflowRunError) as caught:
        run(workflow_host, workflow, mode=mode, retry_delay=lambda attempt: 0)
    assert isinstance(caught.value.cause, ActionFailedError) and caught.value.cause.status == 503
    from workflow import flaky

    assert flaky.attempts["b"] == 2


@pytest.mark.parametrize("parameters", ["{mode: crash}", "{}"], ids=["crash", "invalid output"])
def test_crashes_and_invalid_outputs_are_not_retried(workflow_host, mode, parameters):
    workflow = parse_workflow(
        f"tasks:\n  - {{name: b_1, type: echo/v1/broken, maxRetries: 3, parameters: {parameters}}}\n"
    )
    events = []
    with pytest.raises(WorkflowRunError):
        run(workflow_host, workflow, mode=mode, on_event=events.append, retry_delay=lambda attempt: 0)
    assert [e.kind for e in events] == ["start", "fail"]


def test_a_cancelled_run_stops_at_the_next_task(workflow_host, mode):
    cancel = threading.Event()
    cancel.set()
    workflow = parse_workflow("tasks:\n  - {name: log_1, type: core/v1/logger, parameters: {message: x}}\n")
    with pytest.raises(WorkflowRunError) as caught:
        run(workflow_host, workflow, mode=mode, cancel_event=cancel)
    assert isinstance(caught.value.cause, ActionCancelledError)
