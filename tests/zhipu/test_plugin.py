"""The Zhipu plugin's registration, its import cost, and the one-client-per-connection cache."""

from __future__ import annotations

import asyncio
import inspect
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from zhipu_connector.host.connection import Connection
from zhipu_connector.host.host import Host
from zhipu_connector.host.plugins import DEFAULT_PLUGINS
from zhipu_connector.host.secrets import Secret
from zhipu_connector.resources import data_path
from zhipu_connector.zhipu import connections, plugin
from zhipu_connector.zhipu.client import AsyncZhipuClient, ZhipuClient
from zhipu_connector.zhipu.errors import InvalidApiKeyError

KEY = "plugkeyid.plugKeySecret0042"


def connection(token: str = KEY, **values: str) -> Connection:
    return Connection("bearer_token", {"token": Secret(token), "baseUrl": "http://emulator.test/api/paas/v4", **values})


# --- registration -------------------------------------------------------------------------------


def test_the_plugin_is_built_in_and_registers_every_action_with_sync_and_async_handlers():
    assert "zhipu_connector.zhipu.plugin" in DEFAULT_PLUGINS
    host = Host(default_plugins=["zhipu_connector.zhipu.plugin"], entry_points=False)
    component = host.component("zhipu")
    assert list(component.action_names)[:2] == ["ask", "createImage"]
    assert set(component.action_names) == set(plugin.HANDLERS)
    for action in component.action_names:
        handler = host.action("zhipu", action).handler
        assert callable(handler.run) and inspect.iscoroutinefunction(handler.arun)


def test_the_plugin_registers_the_shipped_definition():
    seen = []
    plugin.register_connectors(
        register=lambda definition, handlers, **extra: seen.append((definition, handlers, extra))
    )
    [(definition, handlers, extra)] = seen
    assert definition == data_path("connector.yaml")
    assert handlers is plugin.HANDLERS and {"ask", "createImage"} <= set(handlers)
    assert extra == {"connection_test": plugin.CONNECTION_TEST, "options_sources": plugin.OPTIONS_SOURCES}


def test_registering_the_plugin_imports_neither_httpx_nor_the_client():
    code = (
        "import sys\n"
        "from zhipu_connector.host.host import Host\n"
        "Host(default_plugins=['zhipu_connector.zhipu.plugin'], entry_points=False)\n"
        "heavy = ('httpx', 'anyio', 'jwt', 'zhipu_connector.zhipu.client', 'zhipu_connector.zhipu.connections')\n"
        "print(','.join(name for name in heavy if name in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == ""


# --- one client per connection --------------------------------------------------------------------


@pytest.fixture
def fresh_cache():
    with connections.configured(
        transport_factory=lambda kind: httpx.MockTransport(lambda request: httpx.Response(500))
    ):
        yield


def test_one_sync_client_per_connection(fresh_cache):
    with connections.sync_client(connection()) as first, connections.sync_client(connection()) as second:
        assert first is second and isinstance(first, ZhipuClient)
    with connections.sync_client(connection()) as again:
        assert again is first
    with (
        connections.sync_client(connection(token="other.plugKeySecret0042")) as other_token,
        connections.sync_client(connection(baseUrl="https://api.z.ai/api/paas/v4")) as other_url,
        connections.sync_client(connection(authentication="JWT")) as other_auth,
    ):
        assert len({id(first), id(other_token), id(other_url), id(other_auth)}) == 4
    assert other_auth.auth_mode == "jwt" and other_url.base_url == "https://api.z.ai/api/paas/v4"


def test_a_plain_mapping_is_keyed_like_the_connection_it_describes(fresh_cache):
    values = {"token": KEY, "baseUrl": "http://emulator.test/api/paas/v4"}
    with connections.sync_client(values) as from_mapping, connections.sync_client(connection()) as from_connection:
        assert from_mapping is from_connection


def test_many_threads_share_one_client(fresh_cache):
    barrier = threading.Barrier(16)

    def borrow(_: int) -> int:
        barrier.wait()
        with connections.sync_client(connection()) as client:
            return id(client)

    with ThreadPoolExecutor(16) as pool:
        ids = set(pool.map(borrow, range(16)))
    assert len(ids) == 1 and connections.cached_clients() == 1


def test_the_cache_is_bounded_and_closes_what_it_drops_once_idle(fresh_cache):
    busy_connection = connection(token="busy.plugKeySecret0042")
    with connections.sync_client(busy_connection) as busy:
        idle = []
        for number in range(connections.MAX_CLIENTS):
            with connections.sync_client(connection(token=f"id{number:03d}.plugKeySecret0042")) as client:
                idle.append(client)
        assert connections.cached_clients() == connections.MAX_CLIENTS
        assert not busy._http.is_closed  # pushed out, but still in use
        assert not any(client._http.is_closed for client in idle)
        with connections.sync_client(connection(token="one.more.plugKeySecret")) as _:
            pass
        assert idle[0]._http.is_closed and not idle[1]._http.is_closed
    assert busy._http.is_closed  # closed as soon as its last call ended
    with connections.sync_client(busy_connection) as replacement:
        assert replacement is not busy


def test_configure_retires_the_cached_clients(fresh_cache):
    with connections.sync_client(connection()) as old:
        connections.close_all()
        assert not old._http.is_closed
    assert old._http.is_closed
    with connections.sync_client(connection()) as new:
        assert new is not old


def test_a_bad_token_fails_before_anything_is_cached(fresh_cache):
    with pytest.raises(InvalidApiKeyError, match="api_key is empty"):
        with connections.sync_client(connection(token="")):
            pass
    assert connections.cached_clients() == 0


def test_async_clients_are_shared_within_a_loop_and_separate_across_loops(fresh_cache):
    async def borrow_twice() -> tuple[AsyncZhipuClient, AsyncZhipuClient]:
        async with connections.async_client(connection()) as first:
            pass
        async with connections.async_client(connection()) as second:
            pass
        return first, second

    first, second = asyncio.run(borrow_twice())
    assert first is second and isinstance(first, AsyncZhipuClient)
    third, _ = asyncio.run(borrow_twice())
    assert third is not first


def test_concurrent_tasks_share_one_async_client_and_aclose_all_closes_it(fresh_cache):
    async def main() -> tuple[set[int], AsyncZhipuClient]:
        async def borrow() -> AsyncZhipuClient:
            async with connections.async_client(connection()) as client:
                await asyncio.sleep(0)
                return client

        clients = await asyncio.gather(*(borrow() for _ in range(20)))
        await connections.aclose_all()
        return {id(client) for client in clients}, clients[0]

    ids, client = asyncio.run(main())
    assert len(ids) == 1 and client._http.is_closed


def test_configured_restores_the_previous_settings_and_closes_its_factory():
    closed = []

    class Factory:
        def __call__(self, kind):
            return httpx.MockTransport(lambda request: httpx.Response(500))

        def close(self) -> None:
            closed.append(True)

    with connections.configured(transport_factory=Factory(), client_options={"max_retries": 0}):
        with connections.sync_client(connection()) as client:
            assert client.retry_policy.max_retries == 0
    assert closed == [True]
    assert connections.cached_clients() == 0
    with connections.sync_client(connection()) as client:  # made, not used: nothing is sent
        assert client.retry_policy.max_retries == 3
    connections.close_all()


def test_the_clients_own_base_urls_are_the_definitions():
    """The client keeps a default for callers without a definition; it must say what connector.yaml says."""
    from zhipu_connector.definition.loader import load_component
    from zhipu_connector.zhipu.config import INTERNATIONAL_BASE_URL, MAINLAND_BASE_URL

    auth = load_component(data_path("connector.yaml")).connection.authorizations[0]
    base_url = next(p for p in auth.properties if p.name == "baseUrl")
    assert base_url.default_value == MAINLAND_BASE_URL
    assert [option.value for option in base_url.options] == [MAINLAND_BASE_URL, INTERNATIONAL_BASE_URL]
