"""Ask many questions through Zhipu's Batch API (half the price), deferred: no worker slot held while it runs.

`questions` turns the topics into Ask's rows (one action's inputs each) and returns them, so
they reach the batch task through XCom; a rows file's path works as well. The batch task builds
the request files, uploads them and creates the batches, then defers: the triggerer looks at the
batches every `poll_interval` seconds and collects those that ended into `answers.jsonl`, the
same result lines as `zhipu-connector batch` (every row once, its output or its error), one
results file per DAG run. Its XCom is a summary: the results file and how many rows succeeded
and failed. If the task is retried (same run, same results file), it re-attaches to its batches
through the state file beside the results: no row is submitted, nor billed, twice.
"""

from __future__ import annotations

from airflow.sdk import DAG, Param, task

from zhipu_connector.adapters.airflow.bulk import ZhipuAskViaBatchApiOperator

with DAG(
    "zhipu_batch_api",
    schedule=None,
    catchup=False,
    params={
        "topics": Param(["tea", "rain", "kites"], type="array", items={"type": "string"}, minItems=1, title="Topics")
    },
    tags=["zhipu", "example"],
    doc_md=__doc__,
):

    @task
    def questions(params=None) -> list[dict[str, object]]:
        return [
            {"model": "glm-4-flash", "format": "SIMPLE", "userPrompt": f"One sentence about {topic}.", "maxTokens": 60}
            for topic in params["topics"]
        ]

    answers = ZhipuAskViaBatchApiOperator(
        task_id="answer_all",
        rows=questions(),
        output_path="zhipu-batches/{{ dag_run.run_id | replace(':', '-') | replace('+', '-') }}/answers.jsonl",
        poll_interval=2,
        poll_timeout=24 * 3600,
        retries=2,
    )
