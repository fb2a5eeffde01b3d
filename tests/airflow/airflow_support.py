"""A real Airflow for the tests: its own home on SQLite, its CLI as subprocesses, the emulator on loopback.

These tests run in the Airflow virtual environment (`make airflow-venv`; `make test` runs them
there), because Airflow pins its own dependencies. Every command's output is kept, so the last
test can search everything Airflow printed or wrote for the token.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "airflow"
TEST_PLUGINS = Path(__file__).resolve().parent / "plugins"
TOKEN = "airflowtest.Zx9SecretHalfOfTheKey"
WAITER_KEY = "waiterkey-Q7vSecretValue"
BATCH_SECONDS = 1.0  # how long the emulator takes over a batch
AIRFLOW_CLI = Path(sys.executable).with_name("airflow")
SKIP_REASON = "Airflow is not installed here: `make test` runs these tests in .venv-airflow (make airflow-venv)"


def zhipu_connection(base_url: str, token: str = TOKEN) -> str:
    """`AIRFLOW_CONN_ZHIPU_DEFAULT` as JSON, the way the docs tell users to write it."""
    return json.dumps({"conn_type": "zhipu", "password": token, "extra": {"baseUrl": base_url}})


def waiter_connection(key: str = WAITER_KEY, region: str = "asia") -> str:
    return json.dumps({"conn_type": "waiter", "password": key, "extra": {"region": region}})


@dataclass
class Airflow:
    """One Airflow home: its environment, a CLI runner and a reader of its database."""

    home: Path
    env: dict[str, str]
    transcripts: list[str] = field(default_factory=list)
    api_server: ApiServer | None = None

    def run(
        self, *args: str, env: dict[str, str] | None = None, timeout: float = 180
    ) -> subprocess.CompletedProcess[str]:
        """Run `airflow ARGS` in this home; the output is kept for the token search."""
        completed = subprocess.run(
            [str(AIRFLOW_CLI), *args],
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.home,
        )
        self.transcripts.append(completed.stdout + completed.stderr)
        return completed

    def dags_test(
        self, dag_id: str, conf: dict[str, Any] | None = None, **kwargs: Any
    ) -> subprocess.CompletedProcess[str]:
        args = ["dags", "test", dag_id]
        if conf is not None:
            args += ["-c", json.dumps(conf)]
        return self.run(*args, **kwargs)

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.home / "airflow.db") as db:
            return db.execute(sql, params).fetchall()

    def last_run_id(self, dag_id: str) -> str:
        rows = self.query("SELECT run_id FROM dag_run WHERE dag_id = ? ORDER BY id DESC LIMIT 1", dag_id)
        assert rows, f"{dag_id} has no run"
        return rows[0][0]

    def xcoms(self, dag_id: str, run_id: str | None = None) -> dict[tuple[str, int], Any]:
        """Every task's return value of a run (the last one by default), by (task id, map index)."""
        run_id = run_id or self.last_run_id(dag_id)
        rows = self.query(
            "SELECT task_id, map_index, value FROM xcom WHERE dag_id = ? AND run_id = ? AND key = 'return_value'",
            dag_id,
            run_id,
        )
        return {(task, index): json.loads(value) for task, index, value in rows}

    def task_states(self, dag_id: str, run_id: str | None = None) -> dict[tuple[str, int], tuple[str, int]]:
        """(state, try number) of every task of a run, by (task id, map index)."""
        run_id = run_id or self.last_run_id(dag_id)
        rows = self.query(
            "SELECT task_id, map_index, state, try_number FROM task_instance WHERE dag_id = ? AND run_id = ?",
            dag_id,
            run_id,
        )
        return {(task, index): (state, tries) for task, index, state, tries in rows}

    def everything_written(self) -> str:
        """All output of every command so far, and every file under the home's logs folder."""
        files = [path.read_text(errors="replace") for path in (self.home / "logs").rglob("*") if path.is_file()]
        return "\n".join([*self.transcripts, *files])


def base_environment(home: Path, emulator_url: str) -> dict[str, str]:
    """A clean environment for Airflow commands: this home, SQLite, the examples as DAGs."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AIRFLOW", "ZHIPU"))}
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(EXAMPLES),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
            "AIRFLOW_CONN_ZHIPU_DEFAULT": zhipu_connection(emulator_url),
            "AIRFLOW_CONN_WAITER_DEFAULT": waiter_connection(),
            "PYTHONPATH": str(TEST_PLUGINS),
            "ZHIPU_CONNECTOR_FILES_ROOT": str(home / "files"),
            "ZHIPU_CONNECTOR_CACHE_DIR": str(home / "cache"),
        }
    )
    return env


def output_of(completed: subprocess.CompletedProcess[str]) -> str:
    """A command's output for an assertion message: the end, where Airflow says what failed."""
    text = completed.stdout + completed.stderr
    return text[-6000:]


API_SERVER_START_TIMEOUT = 120.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ApiServer:
    """Airflow's API server (which serves the UI) on a loopback port of one home, everyone an admin.

    The session starts it in the background right after `db migrate` when a browser test is
    collected, so its start (20-30 s of imports) overlaps the `dags test` runs instead of adding
    to them; the browser tests wait for it to answer. Its output goes to the home's logs, which
    the last test searches for the token.
    """

    def __init__(self, airflow: Airflow) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        (airflow.home / "logs").mkdir(exist_ok=True)
        self.log_path = airflow.home / "logs" / "api-server.log"
        self._log = self.log_path.open("w")
        self.process = subprocess.Popen(
            [str(AIRFLOW_CLI), "api-server", "--host", "127.0.0.1", "--port", str(self.port)],
            env={**airflow.env, "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True"},
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=airflow.home,
        )

    def wait_ready(self, timeout: float = API_SERVER_START_TIMEOUT) -> str:
        """The server's URL once it answers its health check."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/api/v2/monitor/health", timeout=2):
                    return self.url
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"Airflow's API server did not start; see {self.log_path}") from None
                time.sleep(0.3)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after a few seconds: a graceful stop waits 20 s for nothing here."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(3)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._log.close()
