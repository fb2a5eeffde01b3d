"""`POST /embeddings`: the documented shape and limits, and vectors a similarity demo can use."""

from __future__ import annotations

import math

import httpx
import pytest
from platform_support import Platform, error_of


@pytest.fixture
def platform() -> Platform:
    return Platform()


def vectors(platform: Platform, texts: list[str] | str, **fields: object) -> list[list[float]]:
    response = platform.post("/embeddings", {"model": "embedding-3", "input": texts, **fields})
    assert response.status_code == 200, response.text
    return [item["embedding"] for item in response.json()["data"]]


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b))


def test_the_reply_has_the_documented_shape(platform: Platform) -> None:
    response = platform.post("/embeddings", {"model": "embedding-3", "input": ["first text", "second"]})
    payload = response.json()
    assert set(payload) == {"model", "object", "data", "usage"}
    assert payload["model"] == "embedding-3" and payload["object"] == "list"
    assert [item["index"] for item in payload["data"]] == [0, 1]
    assert all(item["object"] == "embedding" for item in payload["data"])
    assert payload["usage"] == {"prompt_tokens": 3, "completion_tokens": 0, "total_tokens": 3}


@pytest.mark.parametrize(("fields", "size"), [({}, 2048), ({"dimensions": 256}, 256), ({"dimensions": 1024}, 1024)])
def test_vectors_have_the_asked_dimension_and_unit_length(platform: Platform, fields: dict, size: int) -> None:
    for vector in vectors(platform, ["a cat on a mat", "量子计算"], **fields):
        assert len(vector) == size
        assert math.isclose(math.sqrt(sum(x * x for x in vector)), 1.0, abs_tol=1e-9)


def test_embedding_2_is_1024_wide() -> None:
    platform = Platform()
    response = platform.post("/embeddings", {"model": "embedding-2", "input": "hello"})
    assert len(response.json()["data"][0]["embedding"]) == 1024
    refused = platform.post("/embeddings", {"model": "embedding-2", "input": "hello", "dimensions": 256})
    assert error_of(refused) == (400, "1214", "dimensions: must be 1024 for embedding-2, got 256")


def test_the_same_text_always_gives_the_same_vector(platform: Platform) -> None:
    once = vectors(platform, "The quick brown fox")[0]
    assert vectors(Platform(), ["other", "The quick brown fox"])[1] == once
    assert vectors(platform, "The quick brown fox!")[0] != once


def test_similar_texts_are_closer_than_unrelated_ones(platform: Platform) -> None:
    query, near, far = vectors(
        platform,
        [
            "how do I bake sourdough bread at home",
            "baking sourdough bread at home: a beginner's guide",
            "the stock market fell sharply on interest rate fears",
        ],
    )
    assert cosine(query, near) > 0.4 > cosine(query, far)
    ranked = sorted(
        zip(
            ["bread", "cars", "baking"],
            vectors(platform, ["fresh bread from the bakery", "electric cars and batteries", "baking bread"]),
        ),
        key=lambda pair: -cosine(vectors(platform, "bread baking")[0], pair[1]),
    )
    assert [name for name, _ in ranked][2] == "cars"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"input": "x"}, (400, "1214", "model: required")),
        ({"model": "embedding-9", "input": "x"}, (400, "1211", "model: unknown model 'embedding-9'; known: embedding-2, embedding-3")),
        ({"model": "embedding-3"}, (400, "1214", "input: required, a string or an array of strings")),
        ({"model": "embedding-3", "input": []}, (400, "1214", "input: must be a non-empty string or a non-empty array of strings")),
        ({"model": "embedding-3", "input": ["ok", ""]}, (400, "1214", "input[1]: must be a non-empty string")),
        ({"model": "embedding-3", "input": "x", "dimensions": 768}, (400, "1214", "dimensions: must be 256 or 512 or 1024 or 2048 for embedding-3, got 768")),
        ({"model": "embedding-3", "input": "x", "dimensions": None}, (400, "1214", "dimensions: do not send null; omit the field instead")),
        ({"model": "embedding-3", "input": "x", "encoding_format": "float"}, (400, "1214", "encoding_format: unknown field; the embeddings API accepts model, input, dimensions")),
    ],
)  # fmt: skip
def test_bad_requests_name_the_field_and_the_rule(platform: Platform, body: dict, expected: tuple) -> None:
    assert error_of(platform.post("/embeddings", body)) == expected


def test_the_item_and_token_limits(platform: Platform) -> None:
    assert platform.post("/embeddings", {"model": "embedding-3", "input": ["t"] * 64}).status_code == 200
    status, code, message = error_of(platform.post("/embeddings", {"model": "embedding-3", "input": ["t"] * 65}))
    assert (status, code) == (400, "1214") and "input数组最大不得超过64条" in message and "got 65" in message
    long_item = " ".join(["word"] * 3073)
    assert error_of(platform.post("/embeddings", {"model": "embedding-3", "input": ["ok", long_item]})) == (
        400, "1261", "input[1]: 3073 tokens, more than 3072 for embedding-3",
    )  # fmt: skip
    assert platform.post("/embeddings", {"model": "embedding-2", "input": " ".join(["w"] * 512)}).status_code == 200
    assert error_of(platform.post("/embeddings", {"model": "embedding-2", "input": " ".join(["w"] * 513)}))[1] == "1261"
    seventeen = [" ".join(["w"] * 500)] * 17  # 8500 tokens in all, each item within 512
    assert error_of(platform.post("/embeddings", {"model": "embedding-2", "input": seventeen})) == (
        400, "1261", "input: 8500 tokens in all, more than 8192 for embedding-2",
    )  # fmt: skip


def test_faults_apply_as_to_chat(platform: Platform) -> None:
    body = {"model": "embedding-3", "input": "x"}
    assert error_of(platform.post("/embeddings", body, headers={"X-Emulator-Fault": "rate_limit"}))[1] == "1302"
    marked = {"model": "embedding-3", "input": ["fine", "[[fault:overloaded]] text"]}
    assert error_of(platform.post("/embeddings", marked))[1] == "1305"
    refused = platform.post("/embeddings", body, headers={"X-Emulator-Fault": "task_fail"})
    assert error_of(refused) == (400, "1210", "X-Emulator-Fault: task_fail does not apply to embeddings")


def test_the_international_platform_has_no_embeddings() -> None:
    response = Platform(platform="international").post("/embeddings", {"model": "embedding-3", "input": "x"})
    assert error_of(response) == (404, "1222", "API does not exist: /api/paas/v4/embeddings")


def test_shape_faults_break_the_reply_as_for_chat(platform: Platform) -> None:
    body = {"model": "embedding-3", "input": "x", "dimensions": 256}
    malformed = platform.post("/embeddings", body, headers={"X-Emulator-Fault": "malformed"})
    assert malformed.status_code == 200
    with pytest.raises(ValueError):
        malformed.json()
    with pytest.raises(httpx.RemoteProtocolError):
        platform.post("/embeddings", body, headers={"X-Emulator-Fault": "drop"})
