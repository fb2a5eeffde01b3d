"""Start slow work with the waiter test connector, then wait for it deferred: no worker slot held."""

from __future__ import annotations

from airflow.sdk import DAG

from zhipu_connector.adapters.airflow.operators import WaiterStartOperator, WaiterStatusOperator

with DAG("waiter_deferred", schedule=None, catchup=False):
    start = WaiterStartOperator(task_id="start", seconds=3, label="report")
    wait = WaiterStatusOperator(
        task_id="wait",
        id="{{ ti.xcom_pull(task_ids='start')['id'] }}",
        deferrable=True,
        poll_while={"state": ["WORKING"]},
        poll_interval=1,
    )
    start >> wait
