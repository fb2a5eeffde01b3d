"""Ask, with its whole form in Airflow's "Trigger DAG" page: the params are Ask's input schema.

Every field — model, format, prompts, messages, the advanced options — comes from the
definition with its label, description, options and range, so the form changes when the
definition does. The params reach the operator natively (`render_template_as_native_obj`),
so numbers, booleans and lists arrive as such; fields left empty are not sent.
"""

from __future__ import annotations

from airflow.sdk import DAG

from zhipu_connector.adapters.airflow.operators import ZhipuAskOperator
from zhipu_connector.adapters.airflow.params import dag_params, param_inputs

with DAG(
    "zhipu_ask_form",
    schedule=None,
    catchup=False,
    params=dag_params("zhipu", "ask"),
    render_template_as_native_obj=True,
    tags=["zhipu", "example"],
    doc_md=__doc__,
):
    ZhipuAskOperator(task_id="ask", **param_inputs("zhipu", "ask"))
