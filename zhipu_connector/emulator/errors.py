"""Zhipu-shaped error replies.

Every refusal the emulator makes is an `ApiError` raised wherever the rule lives and turned into
one HTTP reply at the edge, so the status, the business code (a string of digits, as the
platform sends it) and the message stay together.
"""

from __future__ import annotations

import json


class ApiError(Exception):
    """A reply `{"error": {"code": "<digits>", "message": ...}}` with an HTTP status.

    `unwrapped` sends the bare `{code, message}` shape the Z.AI spec also shows, so clients can
    be tested against both.
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: tuple[tuple[bytes, bytes], ...] = (),
        unwrapped: bool = False,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers
        self.unwrapped = unwrapped

    def body(self) -> bytes:
        error = {"code": self.code, "message": self.message}
        payload = error if self.unwrapped else {"error": error}
        # A message may quote request text; a lone surrogate in it must not turn a 400 into a 500.
        return json.dumps(payload, ensure_ascii=False).encode("utf-8", "backslashreplace")


def bad_field(message: str) -> ApiError:
    """400 / 1214: a parameter breaks a rule; `message` names the field and the rule."""
    return ApiError(400, "1214", message)


def bad_request(message: str) -> ApiError:
    """400 / 1210: a request the emulator cannot serve as asked (e.g. a misapplied fault)."""
    return ApiError(400, "1210", message)


def unknown_model(model: str, known: list[str]) -> ApiError:
    """400 / 1211: the model id is not one the platform serves on this endpoint."""
    return ApiError(400, "1211", f"model: unknown model {model!r}; known: {', '.join(known)}")


def unauthorized(code: str, message: str) -> ApiError:
    """401 with one of the documented authentication codes (1000-1004)."""
    return ApiError(401, code, message)


def api_not_found(path: str) -> ApiError:
    """404 / 1222: no API lives at this path."""
    return ApiError(404, "1222", f"API does not exist: {path}")


def method_not_allowed(method: str, path: str, allowed: tuple[str, ...]) -> ApiError:
    """405 / 1222: the path exists, but not for this method (no API answers it)."""
    return ApiError(
        405,
        "1222",
        f"API does not exist: {method} {path}; use {' or '.join(allowed)}",
        headers=((b"allow", ", ".join(allowed).encode()),),
    )
