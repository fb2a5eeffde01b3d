"""Ask one question per prompt, as many tasks as there are prompts, under the account's pool.

`.partial()` fixes what every task shares, `.expand()` makes one mapped task per prompt (a
literal list here; an upstream task's list works the same: `.expand(userPrompt=other.output)`).
The pool `zhipu_default` — one pool per Zhipu account, created with
`airflow pools set zhipu_default 4 "Zhipu account behind zhipu_default"` — caps how many of
these requests are in flight across every worker of the deployment; each task's own client
still retries a 1302 "too many concurrent requests" by itself.
"""

from __future__ import annotations

from airflow.sdk import DAG

from zhipu_connector.adapters.airflow.operators import CoreLoggerOperator, ZhipuAskOperator

PROMPTS = ["Name a colour.", "Name a fruit.", "Name a river."]

with DAG("zhipu_mapped_prompts", schedule=None, catchup=False, tags=["zhipu", "example"], doc_md=__doc__):
    answers = ZhipuAskOperator.partial(
        task_id="ask",
        model="glm-4.7-flash",
        format="SIMPLE",
        systemPrompt="Answer in one word.",
        maxTokens=50,
        pool="zhipu_default",
        retries=2,
    ).expand(userPrompt=PROMPTS)
    report = CoreLoggerOperator(task_id="report", message="{{ ti.xcom_pull(task_ids='ask') | join(' / ') }}")
    answers >> report
