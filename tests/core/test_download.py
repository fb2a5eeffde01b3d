"""core.download: http(s) only, size limit, timeout, no overwrite, and never a partial file."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from zhipu_connector.core import download as download_module
from zhipu_connector.core.download import DownloadError, file_name_from_url
from zhipu_connector.host.context import ActionContext
from zhipu_connector.host.errors import ActionCancelledError, InputValidationError

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


@pytest.fixture(scope="module")
def core_host():
    from zhipu_connector.host.host import Host

    return Host(default_plugins=["zhipu_connector.core.plugin"], entry_points=False)


PUBLIC_ADDRESS = "93.184.216.34"  # what every `*.example` host "resolves" to here: no DNS in tests


@pytest.fixture(autouse=True)
def files_root_and_names(monkeypatch, tmp_path):
    """Every download in these tests is confined to `tmp_path`, and names resolve from a table."""
    monkeypatch.setenv("ZHIPU_CONNECTOR_FILES_ROOT", str(tmp_path))
    table = {"localhost": ["127.0.0.1"], "intranet.example": ["10.0.0.7"]}
    monkeypatch.setattr(download_module, "RESOLVER", lambda host: table.get(host, [PUBLIC_ADDRESS]))


@pytest.fixture
def serve(monkeypatch):
    """Route downloads to an in-process handler: `serve(handler)` with handler(request) -> Response."""
    requests: list[httpx.Request] = []

    def install(handler):
        def record(request: httpx.Request) -> httpx.Response:
            requests.append(request)
            return handler(request)

        transport = httpx.MockTransport(record)
        monkeypatch.setattr(
            download_module, "CLIENT_FACTORY", lambda timeout: httpx.Client(transport=transport, follow_redirects=True)
        )
        return requests

    return install


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def test_saves_the_file_and_reports_path_size_and_type(core_host, serve, tmp_path):
    requests = serve(lambda r: httpx.Response(200, content=PNG, headers={"Content-Type": "image/png; charset=binary"}))
    result = core_host.run_action(
        "core", "download", {"url": "https://files.example/a/cat.png", "path": str(tmp_path / "out" / "cat.png")}
    )
    target = tmp_path / "out" / "cat.png"
    assert result == {"path": str(target.resolve()), "bytes": len(PNG), "contentType": "image/png"}
    assert target.read_bytes() == PNG
    assert [str(r.url) for r in requests] == ["https://files.example/a/cat.png"]
    assert leftovers(tmp_path / "out") == ["cat.png"]


def test_a_directory_target_takes_the_url_name_and_the_type_extension(core_host, serve, tmp_path):
    serve(lambda r: httpx.Response(200, content=PNG, headers={"Content-Type": "image/png"}))
    named = core_host.run_action(
        "core", "download", {"url": "http://h.example/img/a%20b.png?sig=1", "path": str(tmp_path)}
    )
    bare = core_host.run_action(
        "core", "download", {"url": "http://h.example/emulator/images/0f3a", "path": f"{tmp_path}/sub/"}
    )
    assert Path(named["path"]).name == "a_b.png"
    assert Path(bare["path"]) == (tmp_path / "sub" / "0f3a.png").resolve()


def test_file_names_from_urls_are_safe():
    assert file_name_from_url("https://x.example/../../etc/passwd") == "passwd"
    assert file_name_from_url("https://x.example/") == "download"
    assert file_name_from_url("https://x.example/.hidden") == "hidden"
    assert file_name_from_url("https://x.example/a%2F..%2Fb") == "b"


@pytest.mark.parametrize(
    "url", ["ftp://files.example/x.png", "file:///etc/passwd", "javascript:alert(1)", "files.example/x.png"]
)
def test_only_http_and_https_urls_pass_the_inputs_check(core_host, serve, tmp_path, url):
    requests = serve(lambda r: httpx.Response(200, content=b"x"))
    with pytest.raises(InputValidationError) as caught:
        core_host.run_action("core", "download", {"url": url, "path": str(tmp_path / "x")})
    assert [p.location for p in caught.value.problems] == ["url"]
    assert requests == [] and leftovers(tmp_path) == []


def test_the_handler_itself_refuses_other_schemes(tmp_path):
    """Defence in depth: even called directly, past the schema, only http(s) is fetched."""
    inputs = {"url": "ftp://x.example/f", "path": str(tmp_path / "f"), "overwrite": False, "maxBytes": 10, "timeout": 1}
    with pytest.raises(InputValidationError, match="only http and https URLs can be downloaded, not 'ftp'"):
        download_module.download(inputs, None, ActionContext("core", "download"))


def test_an_existing_file_is_left_alone_without_overwrite(core_host, serve, tmp_path):
    requests = serve(lambda r: httpx.Response(200, content=PNG))
    target = tmp_path / "keep.png"
    target.write_bytes(b"precious")
    with pytest.raises(DownloadError, match="keep.png already exists; set overwrite to true"):
        core_host.run_action("core", "download", {"url": "https://x.example/keep.png", "path": str(target)})
    assert target.read_bytes() == b"precious"
    assert requests == []  # refused before anything was fetched


def test_overwrite_true_replaces_the_file(core_host, serve, tmp_path):
    serve(lambda r: httpx.Response(200, content=PNG))
    target = tmp_path / "keep.png"
    target.write_bytes(b"old")
    core_host.run_action("core", "download", {"url": "https://x.example/k.png", "path": str(target), "overwrite": True})
    assert target.read_bytes() == PNG
    assert leftovers(tmp_path) == ["keep.png"]


def test_a_file_that_appears_during_the_download_is_not_replaced(core_host, serve, tmp_path):
    target = tmp_path / "race.png"

    def handler(request):
        target.write_bytes(b"written by someone else meanwhile")
        return httpx.Response(200, content=PNG)

    serve(handler)
    with pytest.raises(DownloadError, match="already exists"):
        core_host.run_action("core", "download", {"url": "https://x.example/race.png", "path": str(target)})
    assert target.read_bytes() == b"written by someone else meanwhile"
    assert leftovers(tmp_path) == ["race.png"]


def test_a_declared_size_over_the_limit_is_refused_before_reading(core_host, serve, tmp_path):
    serve(lambda r: httpx.Response(200, content=b"x" * 2048))
    with pytest.raises(DownloadError, match="is 2048 bytes, over the size limit of 1024 bytes"):
        core_host.run_action(
            "core", "download", {"url": "https://x.example/big", "path": str(tmp_path / "big"), "maxBytes": 1024}
        )
    assert leftovers(tmp_path) == []


class _Chunks(httpx.SyncByteStream):
    """A body without Content-Length, in chunks, optionally breaking off with a network error."""

    def __init__(self, chunks: list[bytes], fail: bool = False) -> None:
        self.chunks, self.fail = chunks, fail

    def __iter__(self) -> Iterator[bytes]:
        yield from self.chunks
        if self.fail:
            raise httpx.ReadError("connection reset by peer")


def test_an_undeclared_size_is_counted_and_stopped_at_the_limit(core_host, serve, tmp_path):
    serve(lambda r: httpx.Response(200, stream=_Chunks([b"x" * 600] * 5)))
    with pytest.raises(DownloadError, match="over the size limit of 1000 bytes"):
        core_host.run_action(
            "core", "download", {"url": "https://x.example/stream", "path": str(tmp_path / "s"), "maxBytes": 1000}
        )
    assert leftovers(tmp_path) == []


def test_a_broken_connection_leaves_no_partial_file(core_host, serve, tmp_path):
    serve(lambda r: httpx.Response(200, stream=_Chunks([b"a" * 1000, b"b" * 1000], fail=True)))
    with pytest.raises(DownloadError, match="cannot download https://x.example/half: connection reset by peer"):
        core_host.run_action("core", "download", {"url": "https://x.example/half", "path": str(tmp_path / "half.bin")})
    assert leftovers(tmp_path) == []


def test_an_http_error_status_is_reported_with_the_status(core_host, serve, tmp_path):
    serve(lambda r: httpx.Response(404, content=b"gone"))
    with pytest.raises(DownloadError) as caught:
        core_host.run_action(
            "core", "download", {"url": "https://x.example/expired.png", "path": str(tmp_path / "e.png")}
        )
    assert caught.value.status == 404 and "failed with HTTP 404" in str(caught.value)
    assert leftovers(tmp_path) == []


def test_redirects_are_followed(core_host, serve, tmp_path):
    def handler(request):
        if request.url.path == "/old":
            return httpx.Response(302, headers={"Location": "https://x.example/new.png"})
        return httpx.Response(200, content=PNG, headers={"Content-Type": "image/png"})

    requests = serve(handler)
    result = core_host.run_action("core", "download", {"url": "https://x.example/old", "path": str(tmp_path / "r.png")})
    assert result["bytes"] == len(PNG) and [r.url.path for r in requests] == ["/old", "/new.png"]


def test_cancellation_stops_the_download_and_leaves_nothing(serve, tmp_path):
    cancel = threading.Event()

    class _CancelMidway(httpx.SyncByteStream):
        def __iter__(self) -> Iterator[bytes]:
            yield b"a" * 100
            cancel.set()
            yield b"b" * 100

    serve(lambda r: httpx.Response(200, stream=_CancelMidway()))
    inputs = {
        "url": "https://x.example/c",
        "path": str(tmp_path / "c"),
        "overwrite": False,
        "maxBytes": 10_000,
        "timeout": 5,
    }
    with pytest.raises(ActionCancelledError):
        download_module.download(inputs, None, ActionContext("core", "download", cancel_event=cancel))
    assert leftovers(tmp_path) == []


# ---------------------------------------------------------------- timeouts, on a real loopback socket


class _StallingServer:
    """Answers with headers and a few bytes, then either goes silent or drips a byte at a time."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        self.listener.settimeout(5)
        try:
            connection, _ = self.listener.accept()
        except OSError:
            return
        with connection:
            connection.recv(65536)
            connection.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: 100000\r\n\r\n" + b"x" * 10
            )
            while not self.stop.is_set():
                if self.mode == "drip":
                    try:
                        connection.sendall(b"x")
                    except OSError:
                        return
                self.stop.wait(0.05)

    def close(self) -> None:
        self.stop.set()
        self.listener.close()
        self.thread.join(5)


@pytest.mark.parametrize("mode", ["silent", "drip"])
def test_the_timeout_bounds_the_whole_download(core_host, tmp_path, mode):
    server = _StallingServer(mode)
    try:
        began = time.monotonic()
        with pytest.raises(DownloadError, match="took longer than the timeout of 0.5 s"):
            core_host.run_action(
                "core",
                "download",
                {"url": f"http://127.0.0.1:{server.port}/slow.png", "path": str(tmp_path / "slow.png"), "timeout": 0.5},
            )
        assert time.monotonic() - began < 3
    finally:
        server.close()
    assert leftovers(tmp_path) == []


def test_the_written_file_has_ordinary_permissions(core_host, serve, tmp_path):
    serve(lambda r: httpx.Response(200, content=PNG))
    mask = os.umask(0o022)
    os.umask(mask)
    result = core_host.run_action(
        "core", "download", {"url": "https://x.example/p.png", "path": str(tmp_path / "p.png")}
    )
    assert os.stat(result["path"]).st_mode & 0o777 == 0o666 & ~mask


# ---------------------------------------------------------------- confinement and redirects


@pytest.mark.parametrize("path", ["../escaped.png", "out/../../escaped.png", "/tmp/elsewhere/escaped.png"])
def test_a_path_outside_the_files_root_is_refused_before_anything_is_fetched(core_host, serve, tmp_path, path):
    requests = serve(lambda r: httpx.Response(200, content=PNG))
    with pytest.raises(InputValidationError) as caught:
        core_host.run_action("core", "download", {"url": "https://x.example/a.png", "path": path})
    assert [p.location for p in caught.value.problems] == ["path"]
    assert "outside the files root" in str(caught.value)
    assert requests == [] and not (tmp_path.parent / "escaped.png").exists()


def test_a_path_from_an_upstream_output_is_confined_too(core_host, serve, tmp_path):
    """`out/${name_1}` with a model-written `../../x`: the same rule, whatever wrote the path."""
    serve(lambda r: httpx.Response(200, content=PNG))
    name_from_upstream = "../../.bashrc"
    with pytest.raises(InputValidationError, match="outside the files root"):
        core_host.run_action("core", "download", {"url": "https://x.example/a", "path": f"out/{name_from_upstream}"})


def test_a_relative_path_is_taken_from_the_root_and_a_tilde_is_an_ordinary_name(core_host, serve, tmp_path):
    serve(lambda r: httpx.Response(200, content=PNG))
    result = core_host.run_action("core", "download", {"url": "https://x.example/a.png", "path": "~/a.png"})
    assert Path(result["path"]) == (tmp_path / "~" / "a.png").resolve()


def test_a_symbolic_link_out_of_the_root_is_refused(core_host, serve, tmp_path, tmp_path_factory):
    outside = tmp_path_factory.mktemp("outside")
    (tmp_path / "link").symlink_to(outside, target_is_directory=True)
    requests = serve(lambda r: httpx.Response(200, content=PNG))
    with pytest.raises(InputValidationError, match="outside the files root"):
        core_host.run_action("core", "download", {"url": "https://x.example/a.png", "path": "link/a.png"})
    assert requests == [] and list(outside.iterdir()) == []


def test_using_files_root_confines_a_run_to_another_directory(core_host, serve, tmp_path_factory):
    from zhipu_connector.host.files import using_files_root

    serve(lambda r: httpx.Response(200, content=PNG))
    chosen = tmp_path_factory.mktemp("chosen")
    with using_files_root(chosen):
        result = core_host.run_action("core", "download", {"url": "https://x.example/a.png", "path": "a.png"})
        with pytest.raises(InputValidationError, match="outside the files root"):
            core_host.run_action("core", "download", {"url": "https://x.example/a.png", "path": "../a.png"})
    assert Path(result["path"]) == (chosen / "a.png").resolve()


@pytest.mark.parametrize(
    "location", ["http://127.0.0.1:6379/", "http://localhost/admin", "http://[::1]/", "http://intranet.example/x"]
)
def test_a_redirect_from_a_public_host_into_a_local_range_is_refused(core_host, serve, tmp_path, location):
    def handler(request):
        if request.url.host == "cdn.example":
            return httpx.Response(302, headers={"Location": location})
        return httpx.Response(200, content=b"secret of a local service")

    requests = serve(handler)
    with pytest.raises(DownloadError, match="loopback, private or link-local"):
        core_host.run_action("core", "download", {"url": "https://cdn.example/img.png", "path": "img.png"})
    assert [r.url.host for r in requests] == ["cdn.example"]  # the local service was never asked
    assert leftovers(tmp_path) == []


def test_a_url_that_starts_on_loopback_may_redirect_within_it(core_host, serve, tmp_path):
    def handler(request):
        if request.url.path == "/old":
            return httpx.Response(302, headers={"Location": "http://127.0.0.1:9/new.png"})
        return httpx.Response(200, content=PNG)

    requests = serve(handler)
    result = core_host.run_action("core", "download", {"url": "http://127.0.0.1:8/old", "path": "r.png"})
    assert result["bytes"] == len(PNG) and [r.url.path for r in requests] == ["/old", "/new.png"]


def test_too_many_redirects_are_refused(core_host, serve, tmp_path):
    requests = serve(lambda r: httpx.Response(302, headers={"Location": f"https://x.example/{len(requests)}"}))
    with pytest.raises(DownloadError, match="redirected more than 5 times"):
        core_host.run_action("core", "download", {"url": "https://x.example/loop", "path": "loop"})
    assert len(requests) == 6 and leftovers(tmp_path) == []


def test_a_url_with_credentials_is_quoted_without_them(core_host, serve, tmp_path):
    serve(lambda r: httpx.Response(404))
    with pytest.raises(DownloadError) as caught:
        core_host.run_action("core", "download", {"url": "https://bob:Sx9+q@x.example/a.png", "path": "a.png"})
    assert "Sx9+q" not in str(caught.value) and "bob" not in str(caught.value)
    assert "https://x.example/a.png" in str(caught.value)
