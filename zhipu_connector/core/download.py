"""`download`: save an http(s) URL to a file, never leaving a partial or clobbered file behind.

A generated image's link expires after 30 days, so a workflow that wants to keep the image
saves it. The download streams into a temporary file in the target's directory (the same file
system, so the final rename is atomic), is held to a size limit and an overall deadline, and is
only then moved into place. Without `overwrite`, the move is a hard link, which fails if the
target appeared meanwhile, so an existing file is never replaced by accident.

The URL and the path often come from upstream steps, so neither is trusted: the path must lie
inside the files root (`zhipu_connector.host.files`), and redirects are followed here, one hop
at a time, refusing a hop from a public address into a loopback, private or link-local one
(a link from the internet must not reach the services on this machine or its network). A
URL that starts in such a range, like the local emulator's, may redirect within it.

All HTTP goes through `CLIENT_FACTORY`, which tests replace to inject an `httpx` transport.
"""

from __future__ import annotations

import ipaddress
import mimetypes
import os
import re
import secrets
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx

from zhipu_connector import __version__
from zhipu_connector.host.context import ActionContext
from zhipu_connector.host.errors import ActionFailedError, InputValidationError, Problem
from zhipu_connector.host.files import OutsideFilesRootError, confined_path
from zhipu_connector.host.secrets import without_userinfo

DEFAULT_CONTENT_TYPE = "application/octet-stream"
MAX_REDIRECTS = 5
_UNSAFE_NAME_CHARACTERS = re.compile(r"[^A-Za-z0-9._-]+")


class DownloadError(ActionFailedError):
    """A download that could not be completed; nothing was written at the target."""


def default_client(timeout: float) -> httpx.Client:
    """A client whose every network wait (connect, each read) is bounded by `timeout`."""
    return httpx.Client(
        timeout=httpx.Timeout(timeout),
        follow_redirects=False,  # followed by `_stream_into`, which checks every hop
        headers={"User-Agent": f"zhipu-connector/{__version__}"},
    )


def resolve_host(host: str) -> list[str]:
    """The addresses `host` resolves to (itself, for an IP literal); empty if it does not resolve."""
    try:
        return [str(info[4][0]) for info in socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)]
    except (OSError, UnicodeError):
        return []


CLIENT_FACTORY: Callable[[float], httpx.Client] = default_client
"""Makes the client for one download from its timeout; replace it to inject a transport."""

RESOLVER: Callable[[str], list[str]] = resolve_host
"""Resolves a host name for the redirect check; replace it to test without DNS."""


def download(inputs: dict[str, Any], connection: Any, context: ActionContext) -> dict[str, Any]:
    """The `core.download` handler: returns `{path, bytes, contentType}`."""
    url: str = inputs["url"]
    _check_scheme(url)
    target, name_from_url = _target_path(inputs["path"], url)
    overwrite: bool = inputs["overwrite"]
    if target.exists() and not overwrite and not (name_from_url and not target.suffix):
        raise DownloadError(f"{target} already exists; set overwrite to true to replace it")
    target.parent.mkdir(parents=True, exist_ok=True)
    timeout = float(inputs["timeout"])
    with CLIENT_FACTORY(timeout) as client:
        final, size, content_type = _fetch(
            client, url, target, name_from_url, overwrite, inputs["maxBytes"], timeout, context
        )
    return {"path": str(final.resolve()), "bytes": size, "contentType": content_type}


def _check_scheme(url: str) -> None:
    scheme = urlsplit(url).scheme.lower()
    if scheme not in ("http", "https"):
        raise InputValidationError(
            [Problem("url", f"only http and https URLs can be downloaded, not {scheme or 'a URL without a scheme'!r}")],
            subject="core.download",
        )


def _target_path(raw: str, url: str) -> tuple[Path, bool]:
    """The file to write — `raw` itself, or the URL's file name inside a directory — and which.

    Refused, naming the field, when it lies outside the files root.
    """
    try:
        path = confined_path(raw)
    except OutsideFilesRootError as error:
        raise InputValidationError([Problem("path", str(error))], subject="core.download") from None
    if path.is_dir() or raw.endswith(("/", os.sep)):
        return path / file_name_from_url(url), True
    return path, False


def file_name_from_url(url: str) -> str:
    """A safe local file name from the URL's last path segment (`download` if it has none)."""
    name = PurePosixPath(unquote(urlsplit(url).path)).name
    name = _UNSAFE_NAME_CHARACTERS.sub("_", name).lstrip(".")[:200]
    return name or "download"


def _fetch(
    client: httpx.Client,
    url: str,
    target: Path,
    name_from_url: bool,
    overwrite: bool,
    max_bytes: int,
    timeout: float,
    context: ActionContext,
) -> tuple[Path, int, str]:
    deadline = time.monotonic() + timeout
    temporary = str(target.parent / f".{target.name}.{secrets.token_hex(6)}.part")
    # os.open with mode 0o666 lets the umask decide the permissions, as for any new file
    # (mkstemp would leave the image readable by its owner only).
    handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(handle, "wb") as file:
            size, content_type = _stream_into(client, url, file, max_bytes, timeout, deadline, context)
            file.flush()
            os.fsync(file.fileno())
        if name_from_url and not target.suffix:  # a name from the URL gets the type's extension
            target = target.with_name(target.name + (mimetypes.guess_extension(content_type) or ""))
        _move_into_place(Path(temporary), target, overwrite)
        return target, size, content_type
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def _stream_into(
    client: httpx.Client,
    url: str,
    file: Any,
    max_bytes: int,
    timeout: float,
    deadline: float,
    context: ActionContext,
) -> tuple[int, str]:
    shown = without_userinfo(url)
    try:
        with _open_following_redirects(client, url) as response:
            if response.status_code >= 400:
                raise DownloadError(f"GET {shown} failed with HTTP {response.status_code}", status=response.status_code)
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise DownloadError(f"{shown} is {int(declared)} bytes, over the size limit of {max_bytes} bytes")
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise DownloadError(f"{shown} is over the size limit of {max_bytes} bytes")
                if time.monotonic() > deadline:
                    raise DownloadError(f"downloading {shown} took longer than the timeout of {timeout:g} s")
                context.check_cancelled()
                file.write(chunk)
            media_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
            return size, media_type or DEFAULT_CONTENT_TYPE
    except httpx.TimeoutException:
        raise DownloadError(f"downloading {shown} took longer than the timeout of {timeout:g} s") from None
    except httpx.HTTPError as error:
        detail = without_userinfo(str(error)) or type(error).__name__
        raise DownloadError(f"cannot download {shown}: {detail}") from None


@contextmanager
def _open_following_redirects(client: httpx.Client, url: str) -> Iterator[httpx.Response]:
    """The streamed response at the end of `url`'s redirects, each hop checked before it is taken."""
    original_is_local: bool | None = None  # looked up at the first redirect: most downloads have none
    current = httpx.URL(url)
    for _ in range(MAX_REDIRECTS + 1):
        with client.stream("GET", current, follow_redirects=False) as response:
            if not response.is_redirect:
                yield response
                return
            following = current.join(response.headers["Location"])
        if following.scheme not in ("http", "https"):
            raise DownloadError(
                f"{without_userinfo(url)} redirected to an address that is not http or https "
                f"({following.scheme or 'no scheme'})"
            )
        if original_is_local is None:
            original_is_local = _is_local(httpx.URL(url).host)
        if not original_is_local and _is_local(following.host):
            raise DownloadError(
                f"{without_userinfo(url)} redirected to {following.host}, a loopback, private or link-local "
                "address; a download that starts on a public address may not be sent there"
            )
        current = following
    raise DownloadError(f"{without_userinfo(url)} redirected more than {MAX_REDIRECTS} times")


def _is_local(host: str) -> bool:
    """Whether `host` is, or resolves to, an address outside the public internet."""
    host = host.strip("[]")
    for address in [host] if _is_ip(host) else RESOLVER(host):
        ip = ipaddress.ip_address(address.split("%")[0])
        if ip.is_loopback or ip.is_private or ip.is_link_local or ip.is_reserved or ip.is_unspecified:
            return True
    return False


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return False
    return True


def _move_into_place(temporary: Path, target: Path, overwrite: bool) -> None:
    """Rename the finished file to `target`; without `overwrite`, never replace an existing file."""
    if overwrite:
        os.replace(temporary, target)
        return
    try:
        os.link(temporary, target)  # atomic and refuses an existing target
    except FileExistsError:
        raise DownloadError(f"{target} already exists; set overwrite to true to replace it") from None
    except OSError:  # a file system without hard links: check, then rename
        if target.exists():
            raise DownloadError(f"{target} already exists; set overwrite to true to replace it") from None
        os.replace(temporary, target)
