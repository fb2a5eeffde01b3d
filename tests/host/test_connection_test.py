"""`Host.test_connection`: a component's declared connection test, one result whatever happens."""

from __future__ import annotations

import asyncio
import types

import pytest
from connectors import echo

from zhipu_connector.errors import PluginError, UnknownActionError
from zhipu_connector.host.hookspecs import hookimpl
from zhipu_connector.host.host import Host

KEY = "good1.echoKeySecret"


def test_a_working_connection_passes_with_the_check_s_details(echo_host):
    result = echo_host.test_connection("echo", {"apiKey": KEY, "region": "asia"})
    assert result.ok and result.message == "echo answers in region asia"
    assert result.details == {"region": "asia"} and result.error is None
    assert result.to_dict() == {"ok": True, "message": result.message, "error": None, "details": {"region": "asia"}}


def test_a_refused_key_fails_with_the_service_s_reason_and_no_key(echo_host):
    result = echo_host.test_connection("echo", {"apiKey": "bad1.refusedKeySecret"})
    assert not result.ok
    assert result.message == "the echo service refused the key ******** (HTTP 401, code E401)"
    assert result.error["type"] == "KeyRefusedError" and result.error["status"] == 401
    assert "refusedKeySecret" not in str(result.to_dict())


def test_invalid_values_fail_before_the_check_runs(echo_host):
    result = echo_host.test_connection("echo", {"region": "mars"})
    assert not result.ok and result.error["type"] == "ConnectionValidationError"
    locations = {p["location"] for p in result.error["problems"]}
    assert locations == {"apiKey", "region"}


def test_a_check_that_crashes_is_reported_as_a_bug_without_the_key(echo_host):
    result = echo_host.test_connection("echo", {"apiKey": "crash1.crashKeySecret"})
    assert not result.ok and result.error["type"] == "HandlerCrashedError"
    assert "failed unexpectedly: RuntimeError" in result.message and "crashKeySecret" not in result.message


def test_the_async_path_is_bounded_by_the_declared_timeout(echo_host):
    result = asyncio.run(echo_host.atest_connection("echo", {"apiKey": "slow1.slowKeySecret"}))
    assert not result.ok and result.error["type"] == "TimeoutError"
    assert result.message == "the echo connection test did not finish within 0.5 s"
    assert asyncio.run(echo_host.atest_connection("echo", {"apiKey": KEY})).ok


def test_a_component_without_a_declared_test_is_an_error():
    host = Host(default_plugins=["zhipu_connector.core.plugin"], entry_points=False, extra_plugins=[echo])
    with pytest.raises(UnknownActionError, match="core declares no connection test"):
        host.test_connection("core", {})


def _plugin(**registration):
    module = types.ModuleType("echo_variant")

    @hookimpl
    def register_connectors(register):
        register(echo.DEFINITION, {"shout": echo.shout, "broken": echo.broken}, **registration)

    module.register_connectors = register_connectors
    return module


def test_a_declared_test_needs_a_check_and_a_check_needs_a_declaration(zhipu_component):
    with pytest.raises(PluginError, match="echo: its definition declares a connectionTest, but no check is given"):
        Host(default_plugins=[], entry_points=False, extra_plugins=[_plugin()])
    no_test = zhipu_component.model_copy(
        update={"connection": zhipu_component.connection.model_copy(update={"connection_test": None})}
    )
    module = types.ModuleType("zhipu_without_test")

    @hookimpl
    def register_connectors(register):
        register(no_test, dict.fromkeys(no_test.action_names, echo.shout), connection_test=echo.check_connection)

    module.register_connectors = register_connectors
    with pytest.raises(PluginError, match="zhipu: a connection test is given, but the definition declares none"):
        Host(default_plugins=[], entry_points=False, extra_plugins=[module])


def test_the_host_knows_which_plugin_registered_each_component(echo_host):
    owner = next(name for name, plugin in echo_host.plugins.list_name_plugin() if plugin is echo)
    assert echo_host.components_of(owner) == frozenset({"echo"})
    assert echo_host.components_of("nobody") == frozenset()
