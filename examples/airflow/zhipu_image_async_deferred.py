"""Create an image with GLM-Image through the task queue, wait for it deferred (no worker slot held), then save it.

Create image (async) starts the task and returns at once (`waitForResult=False`: its output is
the task id and status PROCESSING). Get task result is deferred, exactly as for a video: the
triggerer polls it every `poll_interval` seconds while the status is PROCESSING, and the task
resumes with the finished answer, whose `images` hold the picture's URL — or fails, without
retries, if the platform reports FAIL. Download saves the PNG (the platform's links are
temporary).
"""

from __future__ import annotations

from airflow.sdk import DAG, Param

from zhipu_connector.adapters.airflow.operators import (
    CoreDownloadOperator,
    ZhipuCreateImageAsyncOperator,
    ZhipuGetTaskResultOperator,
)

with DAG(
    "zhipu_image_async_deferred",
    schedule=None,
    catchup=False,
    params={"prompt": Param("A lighthouse at dusk, watercolour", type="string", title="Prompt", minLength=1)},
    tags=["zhipu", "example"],
    doc_md=__doc__,
):
    start = ZhipuCreateImageAsyncOperator(task_id="start", prompt="{{ params.prompt }}", waitForResult=False)
    image = ZhipuGetTaskResultOperator(
        task_id="wait_for_image",
        taskId="{{ ti.xcom_pull(task_ids='start')['taskId'] }}",
        deferrable=True,
        poll_while={"status": ["PROCESSING"]},
        fail_when={"status": ["FAIL"]},
        poll_interval=2,
        poll_timeout=600,
    )
    save = CoreDownloadOperator(
        task_id="save",
        url="{{ ti.xcom_pull(task_ids='wait_for_image')['images'][0]['url'] }}",
        path="zhipu-images/{{ dag_run.run_id | replace(':', '-') | replace('+', '-') }}.png",
        overwrite=True,
    )
    start >> image >> save
