"""What a `ZhipuAskOperator` task costs over a `PythonOperator` doing the same request with bare httpx.

All tasks run in the same `airflow dags test`, in one DAG file (so parsing it costs them all the
same), in turn, against the emulator on a loopback port: each Ask task sends the same
one-message chat request as the bare tasks, which use `httpx.post` (a new client per call) and
one reused `httpx.Client`, after one Ask task that is not measured (the first task in the
process pays for the cold start). The durations are Airflow's own (`task_instance`
start to end); the overhead is the difference of the medians. Run it in the Airflow venv:

    .venv-airflow/bin/python bench/airflow/overhead.py

With `BENCH_AIRFLOW_HOME` naming an Airflow home already migrated, it runs there (the tests do,
to skip a second `airflow db migrate`).

It lives apart from `bench/*.py` because it needs Airflow, which the main environment lacks.
"""

from __future__ import annotations

import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import Row, arguments, machine, print_table, save

TOKEN = "benchairflow.SecretHalfOfTheBenchKey"
DAG_ID = "bench_airflow_overhead"
OVERHEAD_TARGET_MS = 50.0
HOME_ENV = "BENCH_AIRFLOW_HOME"
"""An Airflow home already migrated (the tests' own) to run in, instead of making and migrating one."""

DAG_FILE = '''
"""Pairs of tasks sending the same chat request: through the generated operator, and with bare httpx."""
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, BaseHook

from zhipu_connector.adapters.airflow.operators import ZhipuAskOperator

PROMPT, MODEL, MAX_TOKENS = "Say hello.", "glm-4.7-flash", 20


CLIENTS = []


def bare_request(reuse_client):
    import httpx

    connection = BaseHook.get_connection("zhipu_default")
    if reuse_client and not CLIENTS:
        CLIENTS.append(httpx.Client(timeout=30))
    send = CLIENTS[0].post if reuse_client else httpx.post
    answer = send(
        connection.extra_dejson["baseUrl"] + "/chat/completions",
        headers={{"Authorization": f"Bearer {{connection.password}}"}},
        json={{"model": MODEL, "messages": [{{"role": "user", "content": PROMPT}}], "max_tokens": MAX_TOKENS}},
        timeout=30,
    )
    answer.raise_for_status()
    return answer.json()["choices"][0]["message"]["content"]


with DAG("{dag_id}", schedule=None, catchup=False):
    # Not measured: the first task in the process pays for the host's and Airflow's cold start.
    previous = ZhipuAskOperator(task_id="warm_up", model=MODEL, format="SIMPLE", userPrompt=PROMPT, maxTokens=MAX_TOKENS)
    for index in range({pairs}):
        ask = ZhipuAskOperator(
            task_id=f"operator_{{index}}", model=MODEL, format="SIMPLE", userPrompt=PROMPT, maxTokens=MAX_TOKENS
        )
        bare = PythonOperator(task_id=f"httpx_{{index}}", python_callable=bare_request, op_args=[False])
        pooled = PythonOperator(task_id=f"client_{{index}}", python_callable=bare_request, op_args=[True])
        if previous is not None:
            previous >> ask
        ask >> bare >> pooled
        previous = pooled
'''


def airflow_cli() -> str:
    return str(Path(sys.executable).with_name("airflow"))


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    pairs = 1 if args.quick else 8
    from zhipu_connector.emulator.config import EmulatorConfig
    from zhipu_connector.emulator.server import running_emulator

    given_home = os.environ.get(HOME_ENV)
    with (
        tempfile.TemporaryDirectory(prefix="bench-airflow-") as folder,
        running_emulator(EmulatorConfig(api_keys=frozenset({TOKEN}))) as url,
    ):
        home = Path(given_home or folder)
        dags = Path(folder) / "dags"
        dags.mkdir()
        (dags / "bench.py").write_text(textwrap.dedent(DAG_FILE.format(dag_id=DAG_ID, pairs=pairs)))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "ZHIPU"))}
        env.update(
            AIRFLOW_HOME=str(home),
            AIRFLOW__CORE__DAGS_FOLDER=str(dags),
            AIRFLOW__CORE__LOAD_EXAMPLES="False",
            AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home / 'airflow.db'}",
            AIRFLOW_CONN_ZHIPU_DEFAULT=json.dumps({"conn_type": "zhipu", "password": TOKEN, "extra": {"baseUrl": url}}),
            ZHIPU_CONNECTOR_CACHE_DIR=str(home / "cache"),
        )
        if not given_home:
            subprocess.run([airflow_cli(), "db", "migrate"], env=env, check=True, capture_output=True)
        started = time.perf_counter()
        run = subprocess.run([airflow_cli(), "dags", "test", DAG_ID], env=env, capture_output=True, text=True)
        wall = time.perf_counter() - started
        if run.returncode != 0:
            sys.exit(f"dags test failed:\n{(run.stdout + run.stderr)[-4000:]}")
        with sqlite3.connect(home / "airflow.db") as db:
            rows = db.execute(
                "SELECT task_id, (julianday(end_date) - julianday(start_date)) * 86400000.0 FROM task_instance "
                "WHERE dag_id = ? AND state = 'success' AND run_id = "
                "(SELECT run_id FROM dag_run WHERE dag_id = ? ORDER BY id DESC LIMIT 1)",
                (DAG_ID, DAG_ID),
            ).fetchall()
    operator = [ms for task, ms in rows if task.startswith("operator_")]
    bare = [ms for task, ms in rows if task.startswith("httpx_")]
    pooled = [ms for task, ms in rows if task.startswith("client_")]
    if not len(operator) == len(bare) == len(pooled) == pairs:
        sys.exit(f"expected {pairs} successful tasks of each kind, got {len(operator)}, {len(bare)}, {len(pooled)}")
    fastest_bare = min(statistics.median(bare), statistics.median(pooled))
    overhead = statistics.median(operator) - fastest_bare
    table = [
        Row("ZhipuAskOperator task", statistics.median(operator), "ms", f"median of {pairs}, Airflow's task duration"),
        Row("PythonOperator, httpx.post", statistics.median(bare), "ms", "same request; a new client each call"),
        Row("PythonOperator, one httpx.Client", statistics.median(pooled), "ms", "same request; the client reused"),
        Row("overhead of the generated operator", overhead, "ms", "over the faster bare task, medians"),
        Row("whole dags test", wall * 1000, "ms", f"{3 * pairs + 1} tasks (one to warm up), parse and run"),
    ]
    checks = [(f"the operator adds at most {OVERHEAD_TARGET_MS:.0f} ms per task", overhead <= OVERHEAD_TARGET_MS)]
    print(f"machine: {machine()}")
    print_table("Airflow: generated operator vs bare httpx", table, checks)
    if args.json:
        save("airflow_overhead", table, checks, args.json)


if __name__ == "__main__":
    main()
