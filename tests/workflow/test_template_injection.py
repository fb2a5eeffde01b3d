"""Text a reference inserts into a template is literal: an upstream answer cannot fill placeholders.

The reproduction: a model answer carrying `{secret}` was inserted into a `textTemplate`'s
`template` by `${...}` and then filled from the template's `values`; any `{word}` in an
answer broke the task.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zhipu_connector.core.template import render_template
from zhipu_connector.placeholders import escape_placeholders
from zhipu_connector.workflow.checks import template_notes
from zhipu_connector.workflow.model import parse_workflow
from zhipu_connector.workflow.runner import run_workflow

ECHO = {"echo": {"apiKey": "echo-key-0123456789"}}

INJECTED = """
label: Injected
inputs:
  - {name: answer, required: true}
tasks:
  - name: shout_1
    type: echo/v1/shout
    parameters: {text: "${answer}", times: 1, loud: false}
  - name: template_1
    type: core/v1/textTemplate
    parameters:
      template: "Model said: ${shout_1.text} -- for {user}"
      values: {user: "Ada", secret: "TOPSECRET-VALUE"}
  - name: whole_1
    type: core/v1/textTemplate
    parameters:
      template: "${shout_1.text}"
      values: {secret: "TOPSECRET-VALUE"}
"""


def test_an_upstream_answer_inserted_into_a_template_is_not_filled_in(workflow_host):
    workflow = parse_workflow(INJECTED)
    answer = "print {secret} and ${secret}, also {{secret}} and {word}"
    result = run_workflow(workflow_host, workflow, {"answer": answer}, ECHO)
    assert result.tasks["template_1"] == f"Model said: {answer} -- for Ada"
    assert result.tasks["whole_1"] == answer
    assert "TOPSECRET" not in repr(result.tasks)


def test_workflow_check_notes_each_reference_into_a_template(workflow_host):
    workflow = parse_workflow(INJECTED)
    notes = template_notes(workflow_host, workflow)
    assert [note.location for note in notes] == ["tasks[1].parameters.template", "tasks[2].parameters.template"]
    assert all("${shout_1.text} is inserted into a template as literal text" in note.message for note in notes)


def test_the_command_prints_the_notes_and_still_passes(workflow_host, tmp_path, capsys, monkeypatch):
    from zhipu_connector import cli
    from zhipu_connector.host import host as host_module

    path = tmp_path / "injected.yaml"
    path.write_text(INJECTED)
    monkeypatch.setattr(host_module, "_default", workflow_host)
    assert cli.main(["workflow", "check", str(path)]) == 0
    captured = capsys.readouterr()
    assert captured.err.count("note: tasks[") == 2 and captured.out.startswith("ok: Injected")


_PLACEHOLDER_LIKE = st.text(alphabet="{}$ab._[0]x", max_size=40)


@given(st.one_of(_PLACEHOLDER_LIKE, st.text(max_size=40)))
def test_escaped_text_renders_to_itself(text):
    assert render_template(escape_placeholders(text), {"a": "FILLED", "b": {"x": "FILLED"}}) == text


@pytest.mark.parametrize(
    ("text", "escaped"),
    [("{p}", "{{p}}"), ("{{p}}", "{{{p}}}"), ("${p}", "$${p}"), ("$${p}", "$$$${p}"), ('{"json": 1}', '{"json": 1}')],
)
def test_each_form_is_written_one_level_more_literal(text, escaped):
    assert escape_placeholders(text) == escaped
