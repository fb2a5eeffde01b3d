"""The generated hooks: an Airflow connection as the host's checked connection, the secret masked."""

from __future__ import annotations

import json

import pytest
from airflow_support import SKIP_REASON

pytest.importorskip("airflow.sdk", reason=SKIP_REASON)

from zhipu_connector.adapters.airflow import hooks
from zhipu_connector.host.errors import ConnectionValidationError
from zhipu_connector.host.secrets import Secret

TOKEN = "hooktest.MaskThisSecretHalf"


@pytest.fixture()
def zhipu_connection(monkeypatch):
    def set_connection(**extra):
        document = {"conn_type": "zhipu", "password": TOKEN, "extra": extra}
        monkeypatch.setenv("AIRFLOW_CONN_ZHIPU_DEFAULT", json.dumps(document))

    return set_connection


def test_the_hook_builds_the_checked_connection_with_the_definitions_defaults(zhipu_connection):
    zhipu_connection(baseUrl="https://api.z.ai/api/paas/v4")
    connection = hooks.ZhipuHook().get_conn()
    assert isinstance(connection["token"], Secret) and connection["token"].reveal() == TOKEN
    assert connection["baseUrl"] == "https://api.z.ai/api/paas/v4"
    assert connection["authentication"] == "API_KEY"  # not set: the definition's default
    assert TOKEN not in repr(connection)


def test_the_hook_registers_the_token_with_airflows_secrets_masker(zhipu_connection, monkeypatch):
    from airflow.sdk._shared.secrets_masker import redact

    masked: list[object] = []
    real = hooks.mask_secret  # Airflow's own, as the hook module imported it

    def recording(value: object, name: str | None = None) -> None:
        masked.append(value)
        real(value, name)

    monkeypatch.setattr(hooks, "mask_secret", recording)
    zhipu_connection()
    hooks.ZhipuHook().get_conn()
    assert TOKEN in masked
    assert TOKEN not in redact(f"Authorization: Bearer {TOKEN}")


def test_an_invalid_extra_field_is_refused_naming_it(zhipu_connection):
    zhipu_connection(authentication="PASSWORD")
    with pytest.raises(ConnectionValidationError, match="authentication"):
        hooks.ZhipuHook().get_conn()


def test_a_connection_made_by_older_tools_with_prefixed_extras_is_read(zhipu_connection):
    zhipu_connection(extra__zhipu__baseUrl="https://api.z.ai/api/paas/v4")
    assert hooks.ZhipuHook().get_conn()["baseUrl"] == "https://api.z.ai/api/paas/v4"


def test_a_second_secret_in_an_extra_field_is_masked_too(zhipu_connection, monkeypatch):
    masked: list[object] = []
    monkeypatch.setattr(hooks, "mask_secret", lambda value, name=None: masked.append(value))
    limiter = "redis://:RedisPassw0rdHere@127.0.0.1:6379/0"
    zhipu_connection(limiter=limiter)
    values, _ = hooks.ZhipuHook().connection_values(hooks.ZhipuHook.get_connection("zhipu_default"))
    assert isinstance(values["limiter"], str) and limiter in masked and TOKEN in masked


def test_a_connection_uri_works_as_the_docs_write_it(monkeypatch):
    from urllib.parse import quote

    uri = f"zhipu://:{quote(TOKEN, safe='')}@/?baseUrl={quote('https://api.z.ai/api/paas/v4', safe='')}&authentication=JWT"
    monkeypatch.setenv("AIRFLOW_CONN_ZHIPU_DEFAULT", uri)
    connection = hooks.ZhipuHook().get_conn()
    assert connection["token"].reveal() == TOKEN
    assert (connection["baseUrl"], connection["authentication"]) == ("https://api.z.ai/api/paas/v4", "JWT")
