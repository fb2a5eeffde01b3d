"""Workflow files: YAML and JSON, the closed schema, every shape problem at once with its line."""

from __future__ import annotations

import json

import pytest
from jsonschema import Draft202012Validator

from zhipu_connector.resources import load_schema
from zhipu_connector.workflow.errors import WorkflowError
from zhipu_connector.workflow.model import load_workflow, parse_workflow

MINIMAL = """
label: Minimal
inputs:
  - {name: topic, label: Topic, required: true}
  - {name: count, type: INTEGER, defaultValue: 2}
tasks:
  - name: log_1
    type: core/v1/logger
    parameters: {message: "${topic}"}
"""


def test_a_yaml_workflow_becomes_the_model():
    workflow = parse_workflow(MINIMAL)
    assert workflow.label == "Minimal"
    assert [(i.name, i.type, i.required, i.default) for i in workflow.inputs] == [
        ("topic", "string", True, None),
        ("count", "integer", False, 2),
    ]
    task = workflow.tasks[0]
    assert (task.index, task.name, task.type, task.parameters, task.max_retries) == (
        0,
        "log_1",
        "core/v1/logger",
        {"message": "${topic}"},
        0,
    )
    assert (task.task_type.component, task.task_type.version, task.task_type.action) == ("core", 1, "logger")


def test_a_json_workflow_with_bytechef_extras_is_read(tmp_path):
    path = tmp_path / "w.json"
    path.write_text(
        json.dumps(
            {
                "label": "x",
                "description": "",
                "inputs": [],
                "triggers": [{"label": "Manual", "name": "trigger_1", "type": "manual/v1/manual", "parameters": {}}],
                "tasks": [
                    {
                        "clusterElements": {},
                        "description": "",
                        "label": "L",
                        "maxRetries": 2,
                        "metadata": {"ui": {}},
                        "name": "log_1",
                        "parameters": {"message": "hi"},
                        "type": "core/v1/logger",
                    }
                ],
            },
            indent="\t",
        )
    )
    workflow = load_workflow(path)
    assert workflow.trigger_names == ("trigger_1",) and workflow.tasks[0].max_retries == 2


def test_every_shape_problem_is_reported_at_once_with_its_line():
    text = """
label: 1
inputs:
  - name: inputs
  - name: 2bad
    type: text
tasks:
  - name: a
    type: zhipu/ask
    colour: red
  - type: core/v1/logger
  - name: b
    type: core/v1/logger
    clusterElements: {x: 1}
    maxRetries: -1
"""
    with pytest.raises(WorkflowError) as caught:
        parse_workflow(text, subject="bad.yaml")
    found = {(p.location, p.message) for p in caught.value.problems}
    assert found == {
        ("label", "1 is not of type 'string' (line 2)"),
        ("inputs[0].name", "'inputs' is reserved for ${inputs.NAME} references (line 4)"),
        ("inputs[1].name", "'2bad' is not a valid name: use letters, digits and _, not starting with a digit (line 5)"),
        (
            "inputs[1].type",
            "'text' is not one of ['string', 'integer', 'number', 'boolean', 'array', 'object', 'date', 'date_time', 'time', 'STRING', 'INTEGER', 'NUMBER', 'BOOLEAN', 'ARRAY', 'OBJECT', 'DATE', 'DATE_TIME', 'TIME'] (line 6)",
        ),
        (
            "tasks[0].colour",
            "unknown key 'colour' (known: name, label, description, type, parameters, maxRetries, metadata, clusterElements) (line 10)",
        ),
        ("tasks[0].type", "'zhipu/ask' is not of the form component/vVERSION/action (e.g. zhipu/v1/ask) (line 9)"),
        ("tasks[1].name", "name is required (line 11)"),
        ("tasks[2].clusterElements", "cluster elements are not supported; leave it empty (line 14)"),
        ("tasks[2].maxRetries", "-1 is less than the minimum of 0 (line 15)"),
    }
    assert str(caught.value).startswith("bad.yaml: invalid workflow (9 problems)")


def test_a_workflow_needs_tasks():
    with pytest.raises(WorkflowError) as caught:
        parse_workflow("label: nothing to do\n")
    assert [(p.location, p.message) for p in caught.value.problems] == [("tasks", "tasks is required (line 1)")]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("tasks: []\ntasks: []\n", "duplicate key 'tasks'"),
        ("a: &x {b: 1}\nc: *x\n", "anchors and aliases are not allowed"),
        ("tasks: [\n", "malformed YAML"),
    ],
)
def test_unsafe_or_broken_yaml_is_refused(text, message):
    with pytest.raises(WorkflowError, match=message):
        parse_workflow(text)


def test_json_duplicate_keys_and_syntax_errors_are_refused():
    with pytest.raises(WorkflowError, match="duplicate key 'tasks'"):
        parse_workflow('{"tasks": [], "tasks": []}', json_format=True)
    with pytest.raises(WorkflowError, match="not valid JSON"):
        parse_workflow('{"tasks": [', json_format=True)


def test_an_unreadable_file_is_a_workflow_error(tmp_path):
    with pytest.raises(WorkflowError, match="cannot read the file"):
        load_workflow(tmp_path / "missing.yaml")


def test_the_published_schema_is_valid_and_closed():
    schema = load_schema("workflow.schema.json")
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"

    def objects(node):
        if isinstance(node, dict):
            if node.get("type") == "object" and "properties" in node:
                yield node
            for value in node.values():
                yield from objects(value)

    closed = list(objects(schema))
    assert len(closed) == 5 and all(node.get("additionalProperties") is False for node in closed)
