"""The Authorization header in both modes, and keys refused before anything is sent."""

from __future__ import annotations

import jwt
import pytest

from zhipu_connector.host.secrets import MASK, Secret, scrub
from zhipu_connector.zhipu.auth import (
    TOKEN_LIFETIME_SECONDS,
    ApiKeyAuth,
    JwtAuth,
    make_auth,
    normalise_auth_mode,
)
from zhipu_connector.zhipu.errors import AuthenticationError, ClientConfigError, InvalidApiKeyError

KEY_ID = "authkeyid42"
KEY_SECRET = "authKeySecretHalf0042"
KEY = f"{KEY_ID}.{KEY_SECRET}"


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("key", [KEY, Secret(KEY)], ids=["str", "Secret"])
def test_api_key_mode_sends_the_key_itself(key) -> None:
    auth = make_auth(key)
    assert isinstance(auth, ApiKeyAuth)
    assert auth.header() == f"Bearer {KEY}"
    assert auth.mode == "api_key" and auth.constant


@pytest.mark.parametrize("key", [KEY, Secret(KEY)], ids=["str", "Secret"])
def test_jwt_mode_signs_with_the_secret_half_and_millisecond_claims(key) -> None:
    clock = FakeClock(1_700_000_000.25)
    auth = make_auth(key, "jwt", clock=clock)
    assert isinstance(auth, JwtAuth) and auth.mode == "jwt" and not auth.constant
    header = auth.header()
    assert header.startswith("Bearer ")
    token = header.removeprefix("Bearer ")
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "sign_type": "SIGN"}
    claims = jwt.decode(token, KEY_SECRET, algorithms=["HS256"], options={"verify_exp": False})
    assert claims == {
        "api_key": KEY_ID,
        "timestamp": 1_700_000_000_250,
        "exp": 1_700_000_000_250 + 210_000,
    }
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, "another-secret-value", algorithms=["HS256"], options={"verify_exp": False})


def test_jwt_is_reused_for_180_seconds_then_renewed() -> None:
    clock = FakeClock(1_000_000.0)
    auth = JwtAuth(KEY, clock=clock)
    first = auth.header()
    clock.now += 179.9
    assert auth.header() == first
    clock.now = 1_000_000.0 + 180.0
    renewed = auth.header()
    assert renewed != first
    claims = jwt.decode(
        renewed.removeprefix("Bearer "),
        KEY_SECRET,
        algorithms=["HS256"],
        options={"verify_exp": False},
    )
    assert claims["timestamp"] == 1_000_180_000
    assert claims["exp"] == 1_000_180_000 + int(TOKEN_LIFETIME_SECONDS * 1000)
    # The renewed token is still valid for 30 s when the next renewal is due.
    clock.now += 179.9
    assert auth.header() == renewed
    assert claims["exp"] - int(clock.now * 1000) >= 30_000


def test_every_jwt_is_registered_as_a_secret() -> None:
    clock = FakeClock(2_000_000.0)
    auth = JwtAuth(KEY, clock=clock)
    token = auth.header().removeprefix("Bearer ")
    assert scrub(f"server echoed {token}") == f"server echoed {MASK}"
    assert scrub(f"half {KEY_SECRET}") == f"half {MASK}"


@pytest.mark.parametrize(
    ("bad_key", "rule"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("\n", "empty"),
        ("badkeyid1 .badsecret1", "whitespace"),
        ("badkeyid2.badsecret2\n", "whitespace"),
        ("badkeyid3.bad\tsecret3", "whitespace"),
        ("badkeyid4.secrét4", "HTTP header"),
        ("badkeyid5.secret\x005", "HTTP header"),
    ],
)
@pytest.mark.parametrize("mode", ["api_key", "jwt"])
def test_unusable_keys_are_refused_without_showing_them(bad_key: str, rule: str, mode: str) -> None:
    with pytest.raises(InvalidApiKeyError) as caught:
        make_auth(bad_key, mode)
    assert isinstance(caught.value, AuthenticationError)
    assert rule in str(caught.value)
    if bad_key.strip():
        assert bad_key.strip() not in str(caught.value)
        assert bad_key not in repr(caught.value)


@pytest.mark.parametrize("bad_key", ["nodotinthiskey", "trailingdot.", ".leadingdot"])
def test_jwt_mode_needs_an_id_and_a_secret_half(bad_key: str) -> None:
    with pytest.raises(InvalidApiKeyError, match=r"<id>\.<secret>") as caught:
        make_auth(bad_key, "jwt")
    assert bad_key not in str(caught.value)
    # The same key is usable as a plain bearer key: only JWT mode must split it.
    assert make_auth(bad_key, "api_key").header() == f"Bearer {bad_key}"


def test_a_key_of_the_wrong_type_is_refused() -> None:
    with pytest.raises(InvalidApiKeyError, match="string or a Secret, got int"):
        make_auth(12345678)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("given", "expected"),
    [("api_key", "api_key"), ("API_KEY", "api_key"), ("jwt", "jwt"), ("JWT", "jwt"), (" Jwt ", "jwt")],
)
def test_auth_mode_accepts_the_connection_spelling(given: str, expected: str) -> None:
    assert normalise_auth_mode(given) == expected


@pytest.mark.parametrize("given", ["oauth", "", None, 1])
def test_unknown_auth_modes_are_refused(given) -> None:
    with pytest.raises(ClientConfigError, match="auth must be 'api_key' or 'jwt'"):
        normalise_auth_mode(given)


def test_reprs_show_no_key() -> None:
    for auth in (make_auth(KEY), make_auth(KEY, "jwt")):
        assert KEY_SECRET not in repr(auth) and KEY_ID not in repr(auth)
