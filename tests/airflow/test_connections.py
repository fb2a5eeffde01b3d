"""`airflow connections test` (and the UI's Test button) through the definition's connection test."""

from __future__ import annotations

import pytest
from airflow_support import SKIP_REASON, output_of, waiter_connection, zhipu_connection

pytest.importorskip("airflow.sdk", reason=SKIP_REASON)

pytestmark = pytest.mark.slow


def test_connections_test_succeeds_with_a_working_connection(airflow_env):
    for conn_id in ("zhipu_default", "waiter_default"):
        tested = airflow_env.run("connections", "test", conn_id)
        assert tested.returncode == 0, output_of(tested)
        assert "Connection success!" in tested.stdout


def test_connections_test_fails_with_the_precise_reason_and_no_secret(airflow_env, emulator_url):
    wrong_token = "airflowtest.WrongSecretHalfXYZ"
    refused = airflow_env.run(
        "connections",
        "test",
        "zhipu_default",
        env={"AIRFLOW_CONN_ZHIPU_DEFAULT": zhipu_connection(emulator_url, wrong_token)},
    )
    assert refused.returncode != 0 and "Connection failed!" in refused.stdout
    assert "401" in refused.stdout and wrong_token not in refused.stdout + refused.stderr
    bad_key = "badkey-LeakMeNotPlease"
    refused = airflow_env.run(
        "connections", "test", "waiter_default", env={"AIRFLOW_CONN_WAITER_DEFAULT": waiter_connection(bad_key)}
    )
    assert "refused the key ********" in refused.stdout and bad_key not in refused.stdout + refused.stderr
    invalid = airflow_env.run(
        "connections", "test", "waiter_default", env={"AIRFLOW_CONN_WAITER_DEFAULT": waiter_connection(region="mars")}
    )
    assert invalid.returncode != 0 and "region: Region: 'mars' is not one of" in invalid.stdout
