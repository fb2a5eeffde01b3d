"""Create embeddings through the host against the in-process emulator: bodies, rules, output, platforms."""

from __future__ import annotations

import asyncio
import math
from typing import Any

import pytest
from test_task_actions import KEY, LOCAL, Recorder

from zhipu_connector.emulator import EmulatorConfig, create_app
from zhipu_connector.host.errors import InputValidationError
from zhipu_connector.host.host import Host
from zhipu_connector.zhipu import connections
from zhipu_connector.zhipu.errors import InvalidRequestError

INTERNATIONAL = "https://api.z.ai/api/paas/v4"


@pytest.fixture(scope="module")
def host():
    return Host(entry_points=False)


def recorder(**config: Any) -> Recorder:
    return Recorder(create_app(EmulatorConfig(api_keys=frozenset({KEY}), **config)))


@pytest.fixture
def app():
    app = recorder()
    with connections.configured(transport_factory=connections.InProcessTransports(app)):
        yield app


def embed(host: Host, inputs: dict[str, Any], base_url: str = LOCAL) -> Any:
    return host.run_action("zhipu", "createEmbeddings", inputs, {"token": KEY, "baseUrl": base_url})


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b))


def test_one_text_gives_one_unit_vector_of_the_asked_size(host, app):
    result = embed(host, {"model": "embedding-3", "text": "a cat on a mat", "dimensions": 256})
    assert sorted(result) == ["data", "model", "usage"] and result["model"] == "embedding-3"
    (item,) = result["data"]
    assert item["index"] == 0 and len(item["embedding"]) == 256
    assert math.isclose(math.fsum(x * x for x in item["embedding"]), 1.0, rel_tol=1e-6)
    assert result["usage"]["promptTokens"] == result["usage"]["totalTokens"] > 0
    assert app.bodies("/embeddings") == [{"model": "embedding-3", "input": ["a cat on a mat"], "dimensions": 256}]


def test_a_list_keeps_its_order_and_similar_texts_are_closer(host, app):
    texts = ["the cat sat on the mat", "a cat sat on a mat", "quarterly revenue report for investors"]
    result = embed(host, {"model": "embedding-3", "texts": texts, "dimensions": 512})
    assert [item["index"] for item in result["data"]] == [0, 1, 2]
    again = [embed(host, {"model": "embedding-3", "text": text, "dimensions": 512})["data"][0] for text in texts]
    assert [item["embedding"] for item in result["data"]] == [item["embedding"] for item in again]
    cat, cat2, revenue = (item["embedding"] for item in result["data"])
    assert cosine(cat, cat2) > cosine(cat, revenue) + 0.2


def test_the_async_path_gives_the_same_vectors(host, app):
    inputs = {"model": "embedding-2", "texts": ["one", "two"]}
    sync = embed(host, inputs)
    asynchronous = asyncio.run(host.arun_action("zhipu", "createEmbeddings", inputs, {"token": KEY, "baseUrl": LOCAL}))
    assert sync == asynchronous and len(sync["data"][0]["embedding"]) == 1024


@pytest.mark.parametrize(
    ("inputs", "problem"),
    [
        ({"model": "embedding-3"}, r"text: Give Text \(one text\) or Texts"),
        (
            {"model": "embedding-3", "text": "a", "texts": ["b"]},
            r"texts: Give Text \(one\) or Texts \(a list\), not both",
        ),
        ({"model": "embedding-3", "texts": ["a", "  "]}, r"texts\[1\]: Text is blank"),
        ({"model": "embedding-3", "texts": ["a"] * 65}, r"texts: Texts: \['a', .*'a'\] is too long"),
        (
            {"model": "embedding-2", "text": "a", "dimensions": 256},
            "dimensions: embedding-2 takes 1024 dimensions, not 256",
        ),
        ({"model": "embedding-3", "text": "a", "dimensions": 768}, "dimensions: Dimensions: 768 is not one of"),
    ],
)
def test_bad_inputs_are_refused_before_sending(host, app, inputs, problem):
    with pytest.raises(InputValidationError, match=problem):
        embed(host, inputs)
    assert app.requests == []


@pytest.mark.parametrize("base_url", [INTERNATIONAL, "international", INTERNATIONAL + "/"])
def test_embeddings_on_the_international_platform_are_refused_before_any_request(host, app, base_url):
    with pytest.raises(InputValidationError) as caught:
        embed(host, {"model": "embedding-3", "text": "a"}, base_url)
    message = str(caught.value)
    assert "connection.baseUrl: the international platform (api.z.ai) does not offer this action" in message
    assert "the mainland platform (open.bigmodel.cn)" in message
    assert app.requests == []


def test_a_server_of_unknown_platform_without_embeddings_is_explained_not_a_bare_404(host):
    app = recorder(platform="international")
    with connections.configured(transport_factory=connections.InProcessTransports(app)):
        with pytest.raises(InvalidRequestError) as caught:
            embed(host, {"model": "embedding-3", "text": "a"})
    error = caught.value
    assert error.status == 404 and "does not offer this endpoint (only the mainland platform" in str(error)
