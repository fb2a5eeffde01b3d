"""`airflow dags test` of every example DAG against the emulator, faults, retries, and the token nowhere.

Each test runs Airflow's own command line in a temporary home on SQLite, then reads the run's
task states and XComs from its database. The last test searches everything Airflow printed or
wrote during the session for the token.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from airflow_support import (
    EXAMPLES,
    SKIP_REASON,
    TOKEN,
    WAITER_KEY,
    output_of,
    zhipu_connection,
)

pytest.importorskip("airflow.sdk", reason=SKIP_REASON)

pytestmark = pytest.mark.slow


def parse(folder: Path):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(str(folder), safe_mode=False)


def test_every_example_dag_parses_without_import_errors():
    bag = parse(EXAMPLES)
    assert bag.import_errors == {}
    assert set(bag.dag_ids) == {path.stem for path in EXAMPLES.glob("*.py")}


def test_a_dag_with_a_literal_input_its_action_refuses_does_not_import(tmp_path):
    (tmp_path / "hot.py").write_text(
        "from airflow.sdk import DAG\n"
        "from zhipu_connector.adapters.airflow.operators import ZhipuAskOperator\n"
        "with DAG('hot', schedule=None):\n"
        "    ZhipuAskOperator(task_id='ask', model='glm-4.7-flash', format='SIMPLE', userPrompt='Hi', temperature=3)\n"
    )
    (error,) = parse(tmp_path).import_errors.values()
    assert "task 'ask' (zhipu.ask): invalid inputs" in error
    assert "temperature: Temperature: 3 is greater than the maximum of 1" in error


def test_a_dag_mapping_over_a_literal_its_action_refuses_does_not_import(tmp_path):
    (tmp_path / "mapped.py").write_text(
        "from airflow.sdk import DAG\n"
        "from zhipu_connector.adapters.airflow.operators import ZhipuAskOperator\n"
        "with DAG('mapped', schedule=None):\n"
        "    ZhipuAskOperator.partial(task_id='ask', model='glm-4.7-flash', format='SIMPLE').expand(\n"
        "        userPrompt=['Hi', '']\n"
        "    )\n"
    )
    (error,) = parse(tmp_path).import_errors.values()
    assert "task 'ask' (zhipu.ask, item 1 of userPrompt): invalid inputs" in error
    assert "userPrompt: User prompt:" in error


def test_ask_create_image_download_chained_through_xcom_through_two_injected_rate_limit_faults(airflow_env):
    """One run checks both: the chain's outputs, and two 1302 answers absorbed by the client's retries."""
    run = airflow_env.dags_test("zhipu_image_from_topic", {"topic": "[[fault:rate_limit;times=2]] a red kite"})
    assert run.returncode == 0, output_of(run)
    assert airflow_env.task_states("zhipu_image_from_topic")[("write_prompt", -1)] == ("success", 1)
    xcoms = airflow_env.xcoms("zhipu_image_from_topic")
    prompt, image, saved = xcoms[("write_prompt", -1)], xcoms[("draw", -1)], xcoms[("save", -1)]
    assert isinstance(prompt, str) and prompt.strip()
    (picture,) = image["data"]
    assert picture["url"].startswith("http://127.0.0.1:")
    path = Path(saved["path"])
    assert path.is_relative_to(airflow_env.home / "files") and path.suffix == ".png"
    assert path.stat().st_size == saved["bytes"] > 0
    assert path.read_bytes().startswith(b"\x89PNG") and saved["contentType"] == "image/png"
    assert set(airflow_env.task_states("zhipu_image_from_topic").values()) == {("success", 1)}


def test_ask_mapped_over_prompts_under_the_accounts_pool(airflow_env):
    run = airflow_env.dags_test("zhipu_mapped_prompts")
    assert run.returncode == 0, output_of(run)
    xcoms = airflow_env.xcoms("zhipu_mapped_prompts")
    answers = [xcoms[("ask", index)] for index in range(3)]
    assert all(isinstance(answer, str) and answer for answer in answers)
    assert xcoms[("report", -1)] == " / ".join(answers)  # the logger passes its message on
    pools = airflow_env.query(
        "SELECT DISTINCT pool FROM task_instance WHERE dag_id = 'zhipu_mapped_prompts' AND task_id = 'ask'"
    )
    assert pools == [("zhipu_default",)]


def test_the_params_form_dag_runs_with_the_form_values(airflow_env):
    conf = {"model": "glm-4.7-flash", "format": "SIMPLE", "userPrompt": "Say hello.", "maxTokens": 30}
    run = airflow_env.dags_test("zhipu_ask_form", conf)
    assert run.returncode == 0, output_of(run)
    answer = airflow_env.xcoms("zhipu_ask_form")[("ask", -1)]
    assert isinstance(answer, str) and answer


def test_no_balance_fails_once_without_airflow_retries(airflow_env):
    run = airflow_env.dags_test("zhipu_image_from_topic", {"topic": "[[fault:no_balance]] a kite"})
    assert run.returncode != 0
    states = airflow_env.task_states("zhipu_image_from_topic")
    assert states[("write_prompt", -1)] == ("failed", 1)  # the DAG allows 2 retries; none was used
    assert states[("draw", -1)][0] == "upstream_failed"
    text = output_of(run)
    assert "AirflowFailException" in text and "code 1113" in text and "not retried" in text


def test_a_transient_failure_the_client_gives_up_on_is_retried_by_airflow(airflow_env, tmp_path):
    """The emulator fails the first four requests (the client's 1 + 3 retries) with a 500."""
    from zhipu_connector.emulator.config import EmulatorConfig
    from zhipu_connector.emulator.server import running_emulator

    failing = EmulatorConfig(api_keys=frozenset({TOKEN}), fault="server_error", fault_first_requests=4)
    with running_emulator(failing) as url:
        run = airflow_env.dags_test("zhipu_image_from_topic", env={"AIRFLOW_CONN_ZHIPU_DEFAULT": zhipu_connection(url)})
    assert run.returncode == 0, output_of(run)
    assert airflow_env.task_states("zhipu_image_from_topic")[("write_prompt", -1)] == ("success", 2)
    assert "ServerError" in output_of(run) or "ServerError" in run.stdout + run.stderr


def test_video_generation_is_deferred_to_the_triggerer_then_saved(airflow_env):
    run = airflow_env.dags_test("zhipu_video_deferred", {"prompt": "A paper boat on a rainy street"})
    assert run.returncode == 0, output_of(run)
    text = run.stdout + run.stderr
    assert "Pausing task as DEFERRED" in text and "zhipu.getTaskResult: still working after 1 poll(s)" in text
    xcoms = airflow_env.xcoms("zhipu_video_deferred")
    started, finished, saved = xcoms[("start", -1)], xcoms[("wait_for_video", -1)], xcoms[("save", -1)]
    assert started["status"] == "PROCESSING" and finished["taskId"] == started["taskId"]
    assert finished["status"] == "SUCCESS" and finished["videos"][0]["url"].startswith("http://127.0.0.1:")
    video = Path(saved["path"])
    assert video.suffix == ".mp4" and video.read_bytes()[4:8] == b"ftyp" and saved["bytes"] == video.stat().st_size
    assert set(airflow_env.task_states("zhipu_video_deferred").values()) == {("success", 1)}


def test_an_async_image_is_deferred_to_the_same_trigger_then_saved(airflow_env):
    run = airflow_env.dags_test("zhipu_image_async_deferred", {"prompt": "A lighthouse at dusk"})
    assert run.returncode == 0, output_of(run)
    text = run.stdout + run.stderr
    assert "Pausing task as DEFERRED" in text and "zhipu.getTaskResult: still working after 1 poll(s)" in text
    xcoms = airflow_env.xcoms("zhipu_image_async_deferred")
    started, finished, saved = xcoms[("start", -1)], xcoms[("wait_for_image", -1)], xcoms[("save", -1)]
    assert started["status"] == "PROCESSING" and finished["taskId"] == started["taskId"]
    assert finished["status"] == "SUCCESS" and finished["images"][0]["url"].startswith("http://127.0.0.1:")
    picture = Path(saved["path"])
    assert picture.suffix == ".png" and picture.read_bytes().startswith(b"\x89PNG")
    assert saved["bytes"] == picture.stat().st_size and saved["contentType"] == "image/png"
    assert set(airflow_env.task_states("zhipu_image_async_deferred").values()) == {("success", 1)}


def test_no_task_log_contains_a_secret(airflow_env):
    """Everything Airflow printed or wrote in this session: the token is masked or absent."""
    written = airflow_env.everything_written()
    assert written, "no output was recorded"
    for secret in (TOKEN, WAITER_KEY, "airflowtest.WrongSecretHalfXYZ", "badkey-LeakMeNotPlease"):
        assert secret not in written
        assert secret.split(".")[-1] not in written  # nor the secret half on its own
    assert os.environ.get("ZHIPUAI_API_KEY") in (None, "") or os.environ["ZHIPUAI_API_KEY"] not in written
