"""The checks run before anything is sent: every problem at once, each at its place in the file."""

from __future__ import annotations

import pytest
from connectors import echo

from zhipu_connector.workflow.checks import check_workflow, plan_workflow
from zhipu_connector.workflow.errors import WorkflowError
from zhipu_connector.workflow.model import parse_workflow
from zhipu_connector.workflow.runner import run_workflow

HEAD = """
inputs:
  - {name: topic, required: true}
  - {name: count, type: integer}
  - {name: ratio, type: number}
  - {name: settings, type: object}
  - {name: day, type: date}
triggers:
  - {name: trigger_1, type: manual/v1/manual}
"""


def problems(host, tasks_yaml: str, head: str = HEAD) -> list[tuple[str, str]]:
    workflow = parse_workflow(head + tasks_yaml)
    return [(p.location, p.message.rsplit(" (line ", 1)[0]) for p in check_workflow(host, workflow)]


def test_a_sound_workflow_has_no_problems(workflow_host):
    assert (
        problems(
            workflow_host,
            """
tasks:
  - name: nap_1
    type: flaky/v1/nap
    parameters: {seconds: "${ratio}", id: "${count}"}
  - name: shout_1
    type: echo/v1/shout
    parameters:
      text: "${nap_1.items[0].name} about ${topic} on ${day}"
      times: "${nap_1.id}"
      tags: ["${nap_1.items[1].name}", "${inputs.topic}", "literal"]
  - name: template_1
    type: core/v1/textTemplate
    parameters: {template: "{a}", values: "${settings}"}
  - name: log_1
    type: core/v1/logger
    parameters: {message: "${template_1}", level: WARNING}
outputs:
  - {name: shout, value: "${shout_1.text}"}
""",
        )
        == []
    )


def test_task_types_must_name_a_registered_component_version_and_action(workflow_host):
    assert problems(
        workflow_host,
        """
tasks:
  - {name: a, type: nope/v1/run}
  - {name: b, type: echo/v2/shout, parameters: {text: x}}
  - {name: c, type: echo/v1/whisper}
""",
    ) == [
        ("tasks[0].type", "unknown component 'nope' (known: flaky, echo, core)"),
        ("tasks[1].type", "echo is registered at version 1, not 2"),
        ("tasks[2].type", "echo has no action 'whisper' (known: shout, broken)"),
    ]


def test_parameters_must_be_known_and_required_ones_present(workflow_host):
    assert problems(
        workflow_host,
        """
tasks:
  - {name: a, type: echo/v1/shout, parameters: {txt: hello}}
  - {name: b, type: echo/v1/shout, parameters: {text: "${topic}"}}
""",
    ) == [
        ("tasks[0].parameters.txt", "unknown key 'txt' (known: text, times, loud, tags, secretNote)"),
        ("tasks[0].parameters.text", "Text is required"),
    ]


def test_literals_must_fit_the_declared_type_and_rules(workflow_host):
    assert problems(
        workflow_host,
        """
tasks:
  - name: a
    type: echo/v1/shout
    parameters: {text: "", times: "3", loud: 1, tags: [x, 2, "${topic}", y]}
  - name: b
    type: core/v1/logger
    parameters: {message: hi, level: LOUD}
""",
    ) == [
        ("tasks[0].parameters.loud", "Loud: 1 is not of type 'boolean'"),
        ("tasks[0].parameters.loud", "Loud: 1 is not one of [True, False]"),
        ("tasks[0].parameters.tags", "Tags: ['x', 2, a reference, 'y'] is too long (at most 3 items; it has 4)"),
        ("tasks[0].parameters.tags[1]", "2 is not of type 'string'"),
        ("tasks[0].parameters.text", "Text: '' should be non-empty (at least 1 character; it has 0)"),
        ("tasks[0].parameters.times", "Times: '3' is not of type 'integer'"),
        ("tasks[1].parameters.level", "Level: 'LOUD' is not one of ['DEBUG', 'INFO', 'WARNING', 'ERROR']"),
    ]


def test_references_must_name_an_input_or_an_earlier_task(workflow_host):
    assert problems(
        workflow_host,
        """
tasks:
  - name: a
    type: core/v1/logger
    parameters: {message: "${b} ${a} ${trigger_1.date} ${nobody} ${inputs.nope} ${inputs.topic}"}
  - name: b
    type: core/v1/logger
    parameters: {message: "${a}"}
""",
    ) == [
        (
            "tasks[0].parameters.message",
            "${b}: task 'b' runs later (tasks[1]); only earlier tasks' outputs can be used",
        ),
        ("tasks[0].parameters.message", "${a}: a task cannot use its own output"),
        (
            "tasks[0].parameters.message",
            "${trigger_1.date}: 'trigger_1' is a trigger; triggers are not run here (a workflow starts when it is run), so it has no output",
        ),
        (
            "tasks[0].parameters.message",
            "${nobody}: no task or input is named 'nobody' (earlier tasks: none; inputs: topic, count, ratio, settings, day)",
        ),
        (
            "tasks[0].parameters.message",
            "${inputs.nope}: there is no input 'nope' (inputs: topic, count, ratio, settings, day)",
        ),
    ]


def test_paths_must_exist_in_the_upstream_output_schema(workflow_host):
    assert problems(
        workflow_host,
        """
tasks:
  - {name: nap_1, type: flaky/v1/nap}
  - {name: shout_1, type: echo/v1/shout, parameters: {text: x}}
  - {name: log_1, type: core/v1/logger, parameters: {message: x}}
  - name: check
    type: core/v1/logger
    parameters:
      message: "${shout_1.nope} ${log_1.text} ${nap_1.items.name} ${nap_1.id[0]} ${topic.size} ${settings.any.depth} ${nap_1.items[0].nope}"
""",
    ) == [
        ("tasks[3].parameters.message", "${shout_1.nope}: shout_1 has no key 'nope' (keys: text, length)"),
        ("tasks[3].parameters.message", "${log_1.text}: log_1 is a STRING, which has no key 'text'"),
        (
            "tasks[3].parameters.message",
            "${nap_1.items.name}: nap_1.items is an ARRAY, which has no key 'name'; index it, as in nap_1.items[0]",
        ),
        ("tasks[3].parameters.message", "${nap_1.id[0]}: nap_1.id is an INTEGER, which has no [0]"),
        ("tasks[3].parameters.message", "${topic.size}: topic is a STRING, which has no key 'size'"),
        ("tasks[3].parameters.message", "${nap_1.items[0].nope}: nap_1.items[0] has no key 'nope' (keys: name, score)"),
    ]


def test_a_whole_reference_must_bring_a_type_that_fits(workflow_host):
    assert problems(
        workflow_host,
        """
tasks:
  - {name: nap_1, type: flaky/v1/nap}
  - name: shout_1
    type: echo/v1/shout
    parameters: {text: "${nap_1}", times: "${topic}", loud: "${nap_1.items}", tags: "${settings}"}
  - name: shout_2
    type: echo/v1/shout
    parameters: {text: "${nap_1.id}", times: "${ratio}", tags: "${nap_1.items}"}
  - name: download_1
    type: core/v1/download
    parameters: {url: "${shout_1.text}", path: "${count}", timeout: "in ${count} s", maxBytes: "${nap_1.items[0].score}"}
""",
    ) == [
        ("tasks[1].parameters.text", "${nap_1} is an OBJECT, but Text takes a STRING"),
        ("tasks[1].parameters.times", "${topic} is a STRING, but Times takes an INTEGER"),
        ("tasks[1].parameters.loud", "${nap_1.items} is an ARRAY, but Loud takes a BOOLEAN"),
        ("tasks[1].parameters.tags", "${settings} is an OBJECT, but Tags takes an ARRAY"),
        ("tasks[2].parameters.text", "${nap_1.id} is an INTEGER, but Text takes a STRING"),
        ("tasks[3].parameters.path", "${count} is an INTEGER, but Path takes a STRING"),
        ("tasks[3].parameters.timeout", "text with references is a STRING, but Timeout takes a NUMBER"),
    ]


def test_names_must_be_unique_and_defaults_of_the_input_type(workflow_host):
    head = """
inputs:
  - {name: topic}
  - {name: topic}
  - {name: n, type: integer, defaultValue: "2"}
  - {name: d, type: date_time, defaultValue: "yesterday"}
"""
    assert problems(
        workflow_host,
        """
tasks:
  - {name: log_1, type: core/v1/logger, parameters: {message: a}}
  - {name: log_1, type: core/v1/logger, parameters: {message: b}}
  - {name: topic, type: core/v1/logger, parameters: {message: c}}
""",
        head=head,
    ) == [
        ("inputs[1].name", "input 'topic' is declared twice"),
        ("tasks[1].name", "task name 'log_1' is used twice; references need unique names"),
        ("tasks[2].name", "task name 'topic' is also an input's name, so ${topic} would be ambiguous"),
        ("inputs[2].defaultValue", "n must be an INTEGER, not '2'"),
        ("inputs[3].defaultValue", "d must be an ISO 8601 date-time, not 'yesterday'"),
    ]


def test_workflow_outputs_are_checked_like_parameters(workflow_host):
    assert problems(
        workflow_host,
        """
tasks:
  - {name: log_1, type: core/v1/logger, parameters: {message: a}}
outputs:
  - {name: ok, value: {text: "${log_1}", topic: "${topic}"}}
  - {name: bad, value: "${log_1.x} ${nobody}"}
""",
    ) == [
        ("outputs[1].value", "${log_1.x}: log_1 is a STRING, which has no key 'x'"),
        (
            "outputs[1].value",
            "${nobody}: no task or input is named 'nobody' (earlier tasks: log_1; inputs: topic, count, ratio, settings, day)",
        ),
    ]


def test_problems_carry_the_yaml_line(workflow_host):
    workflow = parse_workflow(
        "tasks:\n  - name: a\n    type: core/v1/logger\n    parameters:\n      message: ${nobody}\n"
    )
    [problem] = check_workflow(workflow_host, workflow)
    assert problem.location == "tasks[0].parameters.message" and problem.message.endswith("(line 5)")


def test_a_run_checks_inputs_and_connections_too_and_sends_nothing_when_anything_fails(workflow_host):
    workflow = parse_workflow(
        HEAD
        + """
tasks:
  - {name: shout_1, type: echo/v1/shout, parameters: {text: "${topic}"}}
  - {name: nap_1, type: flaky/v1/nap, parameters: {id: "${shout_1.nope}"}}
"""
    )
    with pytest.raises(WorkflowError) as caught:
        run_workflow(
            workflow_host,
            workflow,
            {"count": "three", "day": "2025-13-01", "colour": "red"},
            {"echo": {"region": "mars"}},
        )
    assert [(p.location, p.message.rsplit(" (line ", 1)[0]) for p in caught.value.problems] == [
        ("tasks[1].parameters.id", "${shout_1.nope}: shout_1 has no key 'nope' (keys: text, length)"),
        ("inputs.colour", "the workflow has no input 'colour' (inputs: topic, count, ratio, settings, day)"),
        ("inputs.topic", "topic is required"),
        ("inputs.count", "count must be an INTEGER, not 'three'"),
        ("inputs.day", "day must be an ISO 8601 date, not '2025-13-01'"),
        ("connections.echo.apiKey", "API key is required"),
        ("connections.echo.region", "Region: 'mars' is not one of ['eu', 'asia']"),
    ]
    assert echo.calls == []


def test_a_plan_binds_defaults_and_builds_each_connection_once(workflow_host):
    workflow = parse_workflow("""
inputs: [{name: topic, defaultValue: kites}, {name: style}]
tasks:
  - {name: a, type: echo/v1/shout, parameters: {text: "${topic}"}}
  - {name: b, type: echo/v1/shout, parameters: {text: "${a.text}"}}
  - {name: c, type: core/v1/logger, parameters: {message: x}}
""")
    plan = plan_workflow(workflow_host, workflow, {}, {"echo": {"apiKey": "k-123456"}})
    assert plan.inputs == {"topic": "kites"}
    assert set(plan.connections) == {"echo", "core"} and plan.connections["core"] is None
    assert plan.connections["echo"]["region"] == "eu"
