"""Ask GLM for an image prompt about a topic, draw it with CogView, save the image.

The three tasks chain through XCom: the prompt is Ask's return value, the image link is in
Create image's (`data[0].url`), and Download saves it (the link expires after 30 days).
Trigger it with another topic:
`airflow dags trigger zhipu_image_from_topic -c '{"topic": "a red kite"}'`.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import DAG, Param

from zhipu_connector.adapters.airflow.operators import CoreDownloadOperator, ZhipuAskOperator, ZhipuCreateImageOperator

with DAG(
    "zhipu_image_from_topic",
    schedule=None,
    catchup=False,
    params={"topic": Param("a lighthouse on a cliff at dawn", type="string", title="Topic", minLength=1)},
    # A transient failure (1302, 5xx, a timeout) the client's own retries could not absorb is tried
    # again by Airflow; a final one (no balance, unknown model, invalid input) fails at once.
    default_args={"retries": 2, "retry_delay": timedelta(seconds=2)},
    tags=["zhipu", "example"],
    doc_md=__doc__,
):
    write_prompt = ZhipuAskOperator(
        task_id="write_prompt",
        model="glm-4.7-flash",
        messages=[
            {
                "role": "system",
                "content": "You write prompts for an image model. Answer with the prompt only, in one sentence.",
            },
            {"role": "user", "content": "Write an image prompt about: {{ params.topic }}"},
        ],
        maxTokens=200,
    )
    draw = ZhipuCreateImageOperator(
        task_id="draw",
        model="cogview-3-flash",
        imageMessages=[{"content": "{{ ti.xcom_pull(task_ids='write_prompt') }}"}],
        size="1024x1024",
    )
    save = CoreDownloadOperator(
        task_id="save",
        url="{{ ti.xcom_pull(task_ids='draw')['data'][0]['url'] }}",
        path="zhipu-images/{{ dag_run.run_id | replace(':', '-') | replace('+', '-') }}.png",
        overwrite=True,
    )
    write_prompt >> draw >> save
