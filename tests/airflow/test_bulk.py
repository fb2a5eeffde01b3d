"""Zhipu batches as a deferrable operator, in a real Airflow: submitted in `execute`, waited on in the triggerer.

`airflow dags test` of the Batch API example against the emulator (a batch takes a second
there), the results file checked line by line; then the operator driven as Airflow's task
runner drives it, in process: `execute` defers, is run again as a retry would (it re-attaches
to the same batch: the emulator sees one file and one batch), and the rebuilt trigger fires.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest
from airflow_support import SKIP_REASON, TOKEN, output_of, zhipu_connection

pytest.importorskip("airflow.sdk", reason=SKIP_REASON)

from airflow.sdk import DAG

from zhipu_connector.adapters.airflow import bulk
from zhipu_connector.host.host import default_host
from zhipu_connector.workflow.bulk import bulk_runners

pytestmark = pytest.mark.slow

TOPICS = ["tea", "rain", "kites", "moss"]


def result_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def listed(url: str, kind: str) -> list[dict]:
    """What the emulator's account holds: its batches or its files."""
    return httpx.get(f"{url}/{kind}", headers={"Authorization": f"Bearer {TOKEN}"}).json()["data"]


def test_one_operator_per_runner_and_action_the_host_offers():
    (runner,) = [one for one in bulk_runners(default_host()) if one.name == "batch-api"]
    expected = {f"Zhipu{action[:1].upper()}{action[1:]}ViaBatchApiOperator" for action in runner.actions}
    assert set(bulk.BULK_OPERATORS) == expected
    assert {"ZhipuAskViaBatchApiOperator", "ZhipuCreateEmbeddingsViaBatchApiOperator"} <= expected
    assert bulk.ZhipuAskViaBatchApiOperator.__module__ == "zhipu_connector.adapters.airflow.bulk"


def test_a_runner_that_cannot_run_the_action_fails_when_the_dag_is_parsed_naming_the_task():
    with DAG("bulk_check", schedule=None), pytest.raises(TypeError) as caught:
        bulk.BulkRunOperator(
            task_id="all", component="zhipu", action="generateVideo", via="batch-api", rows="r.jsonl", output_path="o"
        )
    assert "task 'all'" in str(caught.value) and "generateVideo" in str(caught.value)


def test_batch_api_rows_from_xcom_deferred_then_collected_into_results(airflow_env):
    run = airflow_env.dags_test("zhipu_batch_api", {"topics": TOPICS})
    assert run.returncode == 0, output_of(run)
    assert "Pausing task as DEFERRED" in run.stdout + run.stderr
    summary = airflow_env.xcoms("zhipu_batch_api")[("answer_all", -1)]
    results = Path(summary["results"])
    assert results.name == "answers.jsonl" and results.parent.parent == airflow_env.home / "files" / "zhipu-batches"
    assert summary == {
        "component": "zhipu",
        "action": "ask",
        "via": "batch-api",
        "results": str(results),
        "rows": len(TOPICS),
        "succeeded": len(TOPICS),
        "failed": 0,
    }
    lines = result_lines(results)
    assert sorted(line["row"] for line in lines) == list(range(1, len(TOPICS) + 1))
    assert all(isinstance(line["output"], str) and line["output"] for line in lines)
    rows = [json.loads(line) for line in (results.parent / "answers.jsonl.rows.jsonl").read_text().splitlines()]
    assert [row["userPrompt"] for row in rows] == [f"One sentence about {topic}." for topic in TOPICS]
    assert not (results.parent / "answers.jsonl.batch-state.json").exists()  # the run is over: nothing left
    assert set(airflow_env.task_states("zhipu_batch_api").values()) == {("success", 1)}


def test_a_retried_task_re_attaches_to_its_batch_and_submits_nothing_twice(tmp_path, monkeypatch):
    """The task as Airflow's task runner drives it: `execute` defers, runs again (a retry), the trigger fires."""
    from airflow.sdk.exceptions import TaskDeferred
    from airflow.sdk.module_loading import import_string

    from zhipu_connector.emulator.config import EmulatorConfig
    from zhipu_connector.emulator.server import running_emulator

    rows = [{"model": "glm-4-flash", "format": "SIMPLE", "userPrompt": f"About {topic}."} for topic in TOPICS]
    results = tmp_path / "out" / "answers.jsonl"
    state = results.with_name("answers.jsonl.batch-state.json")
    with running_emulator(EmulatorConfig(api_keys=frozenset({TOKEN}), batch_seconds=1.0)) as url:
        monkeypatch.setenv("AIRFLOW_CONN_ZHIPU_DEFAULT", zhipu_connection(url))
        monkeypatch.setenv("ZHIPU_CONNECTOR_FILES_ROOT", str(tmp_path))
        with DAG("bulk_retry", schedule=None):
            task = bulk.ZhipuAskViaBatchApiOperator(
                task_id="answer_all", rows=rows, output_path="out/answers.jsonl", poll_interval=0.2
            )
        with pytest.raises(TaskDeferred):
            task.execute({})
        assert state.exists()  # the run in progress, beside the results
        (batch,) = listed(url, "batches")
        with pytest.raises(TaskDeferred) as retried:  # the worker died; Airflow runs the task again
            task.execute({})
        assert [again["id"] for again in listed(url, "batches")] == [batch["id"]]  # nothing submitted twice
        assert len(listed(url, "files")) == 1  # nor uploaded twice
        classpath, kwargs = retried.value.trigger.serialize()  # what the triggerer stores and rebuilds
        trigger = import_string(classpath)(**kwargs)
        event = asyncio.run(asyncio.wait_for(anext(trigger.run()), timeout=60))
        summary = task.execute_complete({}, event.payload)
    assert event.payload["status"] == "done"
    assert (summary["rows"], summary["succeeded"], summary["failed"]) == (len(TOPICS), len(TOPICS), 0)
    lines = result_lines(results)
    assert sorted(line["row"] for line in lines) == list(range(1, len(TOPICS) + 1))
    assert not state.exists()


def test_a_row_that_breaks_the_action_ends_as_an_error_line_counted_in_the_summary(tmp_path, monkeypatch):
    """A bad row in a rows file is refused before anything is uploaded, and counted; asked to, the task fails."""
    from airflow.sdk.exceptions import AirflowFailException

    from zhipu_connector.emulator.config import EmulatorConfig
    from zhipu_connector.emulator.server import running_emulator

    row = {"model": "glm-4-flash", "format": "SIMPLE", "userPrompt": "Hi", "temperature": 5}
    (tmp_path / "bad.jsonl").write_text(json.dumps(row) + "\n")  # a rows file is read at run time
    rows = "bad.jsonl"
    with running_emulator(EmulatorConfig(api_keys=frozenset({TOKEN}))) as url:
        monkeypatch.setenv("AIRFLOW_CONN_ZHIPU_DEFAULT", zhipu_connection(url))
        monkeypatch.setenv("ZHIPU_CONNECTOR_FILES_ROOT", str(tmp_path))
        with DAG("bulk_bad_rows", schedule=None):
            strict = bulk.ZhipuAskViaBatchApiOperator(
                task_id="strict", rows=rows, output_path="strict.jsonl", fail_on_row_errors=True
            )
            lenient = bulk.ZhipuAskViaBatchApiOperator(task_id="lenient", rows=rows, output_path="lenient.jsonl")
        with pytest.raises(AirflowFailException, match="1 row"):
            strict.execute({})
        summary = lenient.execute({})
    assert (summary["rows"], summary["succeeded"], summary["failed"]) == (1, 0, 1)
    (line,) = result_lines(tmp_path / "lenient.jsonl")
    assert line["row"] == 1 and "temperature" in json.dumps(line["error"])


def test_rows_written_in_the_dag_file_are_checked_when_it_is_parsed_naming_the_row():
    from zhipu_connector.adapters.airflow.operators import TaskInputsError

    rows = [{"model": "glm-4-flash", "format": "SIMPLE", "userPrompt": "Hi"}, {"model": "glm-4-flash", "topP": 2}]
    with DAG("bulk_check", schedule=None), pytest.raises(TaskInputsError) as caught:
        bulk.ZhipuAskViaBatchApiOperator(task_id="all", rows=rows, output_path="out.jsonl")
    assert "task 'all' (zhipu.ask, row 2)" in str(caught.value)
    assert "topP" in {p.location for p in caught.value.problems}


def test_a_results_path_outside_the_files_root_fails_without_retries(tmp_path, monkeypatch):
    from airflow.sdk.exceptions import AirflowFailException

    monkeypatch.setenv("ZHIPU_CONNECTOR_FILES_ROOT", str(tmp_path))
    monkeypatch.setenv("AIRFLOW_CONN_ZHIPU_DEFAULT", zhipu_connection("http://127.0.0.1:9/api/paas/v4"))
    with DAG("bulk_check", schedule=None):
        task = bulk.ZhipuAskViaBatchApiOperator(task_id="all", rows="rows.jsonl", output_path="../elsewhere.jsonl")
    with pytest.raises(AirflowFailException, match="outside the files root"):
        task.execute({})
