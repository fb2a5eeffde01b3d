"""The generated operators as a DAG author meets them: names, arguments, templates, checks at parse time."""

from __future__ import annotations

import inspect

import pytest
from airflow_support import SKIP_REASON

pytest.importorskip("airflow.sdk", reason=SKIP_REASON)

from airflow.sdk import DAG
from airflow.sdk.exceptions import AirflowFailException

from zhipu_connector.adapters.airflow import operators
from zhipu_connector.adapters.airflow.errors import airflow_error
from zhipu_connector.adapters.airflow.params import dag_params
from zhipu_connector.host.host import default_host

ASK = {"model": "glm-4.7-flash", "messages": [{"role": "user", "content": "Hi"}]}


def test_every_registered_action_has_an_operator_and_nothing_else_does():
    expected = {
        f"{component.name[:1].upper()}{component.name[1:]}{action.name[:1].upper()}{action.name[1:]}Operator"
        for component in default_host().components
        for action in component.actions
    }
    assert set(operators.OPERATORS) == expected
    assert {"ZhipuAskOperator", "ZhipuCreateImageOperator", "CoreDownloadOperator", "WaiterStatusOperator"} <= expected
    assert operators.ZhipuAskOperator.__module__ == "zhipu_connector.adapters.airflow.operators"


def test_keyword_arguments_are_the_properties_with_their_defaults():
    bound = default_host().action("zhipu", "ask")
    parameters = inspect.signature(operators.ZhipuAskOperator.__init__).parameters
    visible = [p for p in bound.action.properties if not p.hidden]
    assert [name for name in parameters if name not in ("self", "conn_id", "kwargs")] == [p.name for p in visible]
    for prop in visible:
        assert parameters[prop.name].default == (prop.default_value if prop.has_default else None), prop.name


def test_every_input_is_a_template_field():
    for cls in operators.OPERATORS.values():
        action = default_host().action(cls.component_name, cls.action_name).action
        expected = [operators.attribute_name(p.name) for p in action.properties if not p.hidden]
        assert list(cls.template_fields) == expected, cls.__name__
    assert operators.attribute_name("output") == "output_value"  # BaseOperator owns `output` (an XComArg)
    assert operators.attribute_name("model") == "model"


def test_a_literal_input_the_definition_refuses_fails_when_the_dag_is_parsed_naming_task_and_field():
    with DAG("parse_check", schedule=None), pytest.raises(operators.TaskInputsError) as caught:
        operators.ZhipuAskOperator(task_id="too_hot", **ASK, temperature=3)
    message = str(caught.value)
    assert "task 'too_hot' (zhipu.ask)" in message
    assert "temperature" in message and "Temperature" in message  # the key and its label
    assert [p.location for p in caught.value.problems] == ["temperature"]


def test_a_missing_required_input_is_named_and_every_problem_is_reported_at_once():
    with DAG("parse_check", schedule=None), pytest.raises(operators.TaskInputsError) as caught:
        operators.ZhipuCreateImageOperator(task_id="draw", size="huge", quality="ultra")
    assert {p.location for p in caught.value.problems} == {"model", "imageMessages", "size", "quality"}


def test_templated_inputs_wait_for_the_run():
    with DAG("parse_check", schedule=None):
        task = operators.ZhipuAskOperator(
            task_id="ask", model="{{ params.model }}", messages="{{ ti.xcom_pull(task_ids='up') }}", maxTokens="{{ 5 }}"
        )
    assert task.model == "{{ params.model }}"


def test_mapping_checks_argument_names_like_any_operator():
    with DAG("mapped", schedule=None):
        mapped = operators.ZhipuAskOperator.partial(task_id="ask", model="glm-4.7-flash", format="SIMPLE").expand(
            userPrompt=["a", "b"]
        )
        assert mapped.partial_kwargs["model"] == "glm-4.7-flash"
        with pytest.raises(TypeError, match="userprompt"):
            operators.ZhipuAskOperator.partial(task_id="typo").expand(userprompt=["a"])


def test_rendered_text_is_read_as_the_property_type():
    bound = default_host().action("zhipu", "ask")
    assert operators.typed_input(bound.action.property("maxTokens"), "512") == 512
    assert operators.typed_input(bound.action.property("stop"), "['END']") == ["END"]
    assert operators.typed_input(bound.action.property("model"), "512") == "512"


def test_deferrable_needs_to_know_what_still_working_looks_like():
    with DAG("deferred", schedule=None), pytest.raises(TypeError, match="poll_while"):
        operators.WaiterStatusOperator(task_id="wait", id="x", deferrable=True)


def zhipu_error(status: int, code: str):
    from zhipu_connector.zhipu.errors import error_from_response

    return error_from_response(status, f'{{"error": {{"code": "{code}", "message": "m"}}}}'.encode(), "req-1")


@pytest.mark.parametrize("code", ["1113", "1211", "1304", "1214"])
def test_final_api_errors_fail_the_task_without_retries(code):
    raised = airflow_error(zhipu_error(429 if code in ("1113", "1304") else 400, code), task="ask")
    assert isinstance(raised, AirflowFailException)
    assert f"code {code}" in str(raised) and "not retried" in str(raised)


@pytest.mark.parametrize(("status", "code"), [(429, "1302"), (500, "500"), (503, "1305")])
def test_transient_api_errors_are_raised_as_they_are_so_airflow_retries_apply(status, code):
    error = zhipu_error(status, code)
    assert airflow_error(error, task="ask") is error


def test_invalid_inputs_at_run_time_fail_without_retries():
    from zhipu_connector.host.errors import InputValidationError

    assert isinstance(airflow_error(InputValidationError([]), task="ask"), AirflowFailException)


def test_the_params_form_is_asks_input_schema():
    bound = default_host().action("zhipu", "ask")
    params = dag_params("zhipu", "ask")
    assert list(params) == [p.name for p in bound.action.properties if not p.hidden]
    for name, param in params.items():
        prop, derived = bound.action.property(name), bound.input_schema["properties"][name]
        assert param.schema["title"] == prop.label
        for keyword in ("minimum", "maximum", "minLength", "maxLength", "minItems", "maxItems", "items", "pattern"):
            assert param.schema.get(keyword) == derived.get(keyword), (name, keyword)
        if prop.options:
            labels = {
                str(o.value).lower() if isinstance(o.value, bool) else str(o.value): o.label for o in prop.options
            }
            always_required = prop.required and not prop.display_condition
            assert param.schema["values_display"] == (labels if always_required else {**labels, "null": "(not set)"})
        assert ("section" in param.schema) is prop.advanced_option
    assert params["format"].value == "ADVANCED"  # the definition's default
    assert params["model"].value == bound.action.property("model").example_value


def test_an_answer_that_reports_a_failure_fails_the_task_when_asked():
    with DAG("deferred", schedule=None):
        task = operators.ZhipuGetTaskResultOperator(
            task_id="wait",
            taskId="t-1",
            deferrable=True,
            poll_while={"status": ["PROCESSING"]},
            fail_when={"status": ["FAIL"]},
        )
    assert (
        task.execute_complete({}, {"status": "done", "output": {"taskId": "t-1", "status": "SUCCESS"}})["status"]
        == "SUCCESS"
    )
    with pytest.raises(AirflowFailException, match="status = 'FAIL'"):
        task.execute_complete({}, {"status": "done", "output": {"taskId": "t-1", "status": "FAIL"}})


def test_a_failed_poll_is_final_or_retried_as_the_error_says():
    with DAG("deferred", schedule=None):
        task = operators.ZhipuGetTaskResultOperator(
            task_id="wait", taskId="t-1", deferrable=True, poll_while={"status": ["PROCESSING"]}
        )
    final = {"status": "failed", "error": "QuotaExceededError", "message": "no balance (code 1113)", "retryable": False}
    with pytest.raises(AirflowFailException, match="QuotaExceededError"):
        task.execute_complete({}, final)
    with pytest.raises(operators.PollFailedError) as caught:
        task.execute_complete({}, {**final, "error": "ServerError", "retryable": True})
    assert caught.value.retryable is True


def test_a_literal_given_to_partial_is_checked_when_the_dag_is_parsed():
    with DAG("mapped", schedule=None), pytest.raises(operators.TaskInputsError) as caught:
        operators.ZhipuAskOperator.partial(task_id="hot", model="glm-4.7-flash", format="SIMPLE", temperature=3)
    assert "task 'hot' (zhipu.ask)" in str(caught.value)
    assert [p.location for p in caught.value.problems] == ["temperature"]  # userPrompt may still come from expand


def test_each_literal_value_expand_maps_over_is_checked_naming_the_item():
    with DAG("mapped", schedule=None):
        with pytest.raises(operators.TaskInputsError) as caught:
            operators.ZhipuAskOperator.partial(
                task_id="ask", model="glm-4.7-flash", format="SIMPLE", userPrompt="Hi"
            ).expand(temperature=[0.5, 7])
        assert "task 'ask' (zhipu.ask, item 1 of temperature)" in str(caught.value)
        assert [p.location for p in caught.value.problems] == ["temperature"]
        with pytest.raises(operators.TaskInputsError, match="imageMessages: Messages is required"):  # in neither
            operators.ZhipuCreateImageOperator.partial(task_id="draw", model="cogview-4").expand(size=["1024x1024"])


def test_values_mapped_from_an_xcom_wait_for_the_run():
    from airflow.providers.standard.operators.empty import EmptyOperator

    with DAG("mapped", schedule=None):
        upstream = EmptyOperator(task_id="up")
        mapped = operators.ZhipuAskOperator.partial(task_id="ask", model="glm-4.7-flash", format="SIMPLE").expand(
            userPrompt=upstream.output
        )
    assert mapped.partial_kwargs["format"] == "SIMPLE"
