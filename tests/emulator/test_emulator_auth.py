"""Authentication: both header forms and every documented 401 code."""

from __future__ import annotations

import time

import jwt
import pytest
from emulator_support import KEY, Emulator, error_of

from zhipu_connector.emulator import EmulatorConfig

KEY_ID, KEY_SECRET = KEY.split(".")
NOW_MS = int(time.time() * 1000)


def token(
    *,
    secret: str = KEY_SECRET,
    api_key: object = KEY_ID,
    exp: object = NOW_MS + 210_000,
    timestamp: object = NOW_MS,
    headers: dict[str, object] | None = None,
    algorithm: str = "HS256",
    drop: tuple[str, ...] = (),
) -> str:
    claims = {"api_key": api_key, "exp": exp, "timestamp": timestamp}
    for name in drop:
        del claims[name]
    return jwt.encode(
        claims, secret, algorithm=algorithm, headers={"sign_type": "SIGN"} if headers is None else headers
    )


@pytest.fixture
def strict() -> Emulator:
    """An emulator that knows one key, so it can verify signatures."""
    return Emulator(EmulatorConfig(api_keys=frozenset({KEY})))


def test_a_configured_key_is_accepted(strict: Emulator) -> None:
    assert strict.chat().status_code == 200


def test_any_key_of_the_right_shape_is_accepted_when_none_is_configured(emulator: Emulator) -> None:
    assert emulator.chat(authorization="Bearer someid.somesecret").status_code == 200


def test_the_bearer_scheme_is_case_insensitive(strict: Emulator) -> None:
    assert strict.chat(authorization=f"bearer {KEY}").status_code == 200


@pytest.mark.parametrize(
    ("authorization", "code", "words"),
    [
        (None, "1001", "missing"),
        ("", "1001", "missing"),
        ("Bearer", "1001", "no token"),
        ("Bearer    ", "1001", "no token"),
        (f"Basic {KEY}", "1000", "Bearer"),
        (KEY, "1000", "Bearer"),
        ("Bearer keywithoutdot", "1002", "API key"),
        ("Bearer a.b.c.d", "1002", "API key"),
        ("Bearer .secret", "1002", "<id>.<secret>"),
        ("Bearer not.a.jwt", "1002", "decodable JWT"),
    ],
)
def test_malformed_headers_fail_with_their_code(
    emulator: Emulator, authorization: str | None, code: str, words: str
) -> None:
    status, got_code, message = error_of(emulator.chat(authorization=authorization))
    assert (status, got_code) == (401, code)
    assert words in message


def test_an_unknown_key_is_an_invalid_token(strict: Emulator) -> None:
    assert error_of(strict.chat(authorization=f"Bearer {KEY_ID}.wrongsecret"))[:2] == (401, "1002")


def test_error_replies_never_repeat_the_key_or_token(strict: Emulator) -> None:
    bad_key = "leakyid.leakysecret"
    bad_token = token(secret="x" * 32, exp=1_700_000_000)
    for authorization in (f"Bearer {bad_key}", f"Bearer {bad_token}", f"Basic {bad_key}"):
        text = strict.chat(authorization=authorization).text
        assert "leaky" not in text and bad_token not in text


class TestJwt:
    def test_a_token_in_milliseconds_signed_with_the_secret_is_accepted(self, strict: Emulator) -> None:
        assert strict.chat(authorization=f"Bearer {token()}").status_code == 200

    def test_the_official_sdk_token_is_accepted(self, strict: Emulator) -> None:
        from zhipuai.core._jwt_token import generate_token

        assert strict.chat(authorization=f"Bearer {generate_token(KEY)}").status_code == 200

    def test_exp_in_seconds_is_caught_as_expired(self, strict: Emulator) -> None:
        now_s = int(time.time())
        response = strict.chat(authorization=f"Bearer {token(exp=now_s + 210, timestamp=now_s)}")
        status, code, message = error_of(response)
        assert (status, code) == (401, "1003")
        assert "milliseconds" in message

    def test_timestamp_in_seconds_is_invalid(self, strict: Emulator) -> None:
        response = strict.chat(authorization=f"Bearer {token(timestamp=int(time.time()))}")
        status, code, message = error_of(response)
        assert (status, code) == (401, "1002")
        assert "timestamp" in message and "milliseconds" in message

    def test_an_expired_token_fails_with_1003(self, strict: Emulator) -> None:
        response = strict.chat(authorization=f"Bearer {token(exp=NOW_MS - 1_000)}")
        assert error_of(response)[:2] == (401, "1003")

    def test_expiry_follows_the_configured_clock(self) -> None:
        later = Emulator(EmulatorConfig(api_keys=frozenset({KEY}), clock=lambda: NOW_MS / 1000 + 3600))
        assert error_of(later.chat(authorization=f"Bearer {token()}"))[:2] == (401, "1003")

    def test_a_wrong_signature_fails_with_1004(self, strict: Emulator) -> None:
        response = strict.chat(authorization=f"Bearer {token(secret='not-the-secret')}")
        assert error_of(response)[:2] == (401, "1004")

    def test_a_tampered_signature_fails_with_1004(self, strict: Emulator) -> None:
        good = token()
        tampered = good[:-2] + ("AA" if not good.endswith("AA") else "BB")
        assert error_of(strict.chat(authorization=f"Bearer {tampered}"))[:2] == (401, "1004")

    def test_any_well_formed_token_passes_when_no_key_is_configured(self, emulator: Emulator) -> None:
        response = emulator.chat(authorization=f"Bearer {token(secret='whatever', api_key='anyid')}")
        assert response.status_code == 200

    def test_expiry_is_checked_even_without_configured_keys(self, emulator: Emulator) -> None:
        response = emulator.chat(authorization=f"Bearer {token(exp=int(time.time()) + 60)}")
        assert error_of(response)[:2] == (401, "1003")

    @pytest.mark.parametrize(
        ("options", "words"),
        [
            ({"headers": {}}, "sign_type"),
            ({"headers": {"sign_type": "NOSIGN"}}, "sign_type"),
            ({"algorithm": "HS512"}, "HS256"),
            ({"api_key": "otherid"}, "no known API key"),
            ({"drop": ("api_key",)}, "api_key"),
            ({"api_key": 42}, "api_key"),
            ({"drop": ("exp",)}, "exp"),
            ({"exp": "soon"}, "exp"),
            ({"drop": ("timestamp",)}, "timestamp"),
        ],
    )
    def test_malformed_tokens_are_invalid(self, strict: Emulator, options: dict[str, object], words: str) -> None:
        status, code, message = error_of(strict.chat(authorization=f"Bearer {token(**options)}"))
        assert (status, code) == (401, "1002")
        assert words in message
