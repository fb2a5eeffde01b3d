"""Generate a video with CogVideoX, wait for it deferred (no worker slot held), then save it.

Generate video starts the task and returns at once (`waitForResult=False`: its output is the
task id and status PROCESSING). Get task result is deferred: the triggerer polls it every
`poll_interval` seconds while the status is PROCESSING, and the task resumes with the finished
answer — or fails, without retries, if the platform reports FAIL. Download saves the MP4 (the
platform's links are temporary). A triggerer must run (`airflow triggerer`); `airflow dags test`
runs triggers in-line.
"""

from __future__ import annotations

from airflow.sdk import DAG, Param

from zhipu_connector.adapters.airflow.operators import (
    CoreDownloadOperator,
    ZhipuGenerateVideoOperator,
    ZhipuGetTaskResultOperator,
)

with DAG(
    "zhipu_video_deferred",
    schedule=None,
    catchup=False,
    params={"prompt": Param("A paper boat drifting down a rainy street", type="string", title="Prompt", minLength=1)},
    tags=["zhipu", "example"],
    doc_md=__doc__,
):
    start = ZhipuGenerateVideoOperator(
        task_id="start",
        model="cogvideox-3",
        prompt="{{ params.prompt }}",
        waitForResult=False,
    )
    video = ZhipuGetTaskResultOperator(
        task_id="wait_for_video",
        taskId="{{ ti.xcom_pull(task_ids='start')['taskId'] }}",
        deferrable=True,
        poll_while={"status": ["PROCESSING"]},
        fail_when={"status": ["FAIL"]},
        poll_interval=2,
        poll_timeout=1800,
    )
    save = CoreDownloadOperator(
        task_id="save",
        url="{{ ti.xcom_pull(task_ids='wait_for_video')['videos'][0]['url'] }}",
        path="zhipu-videos/{{ dag_run.run_id | replace(':', '-') | replace('+', '-') }}.mp4",
        overwrite=True,
    )
    start >> video >> save
