"""core.rankBySimilarity: cosine similarity ranking, through dispatch, with its checks."""

from __future__ import annotations

import pytest

from zhipu_connector.host.errors import InputValidationError
from zhipu_connector.host.host import Host


@pytest.fixture(scope="module")
def host():
    return Host(default_plugins=["zhipu_connector.core.plugin"], entry_points=False)


def rank(host, **inputs):
    return host.run_action("core", "rankBySimilarity", inputs)


def test_candidates_are_ordered_by_cosine_similarity_with_their_labels(host):
    candidates = [{"index": 0, "embedding": [0.0, 1.0]}, {"embedding": [1.0, 0.1]}, {"embedding": [-1.0, 0.0]}]
    result = rank(host, query=[2.0, 0.0], candidates=candidates, labels=["up", "right", "left"])
    assert [(item["index"], item["label"]) for item in result] == [(1, "right"), (0, "up"), (2, "left")]
    assert result[0]["score"] == pytest.approx(0.995037, abs=1e-6) and result[2]["score"] == -1.0


def test_top_keeps_the_best_and_ties_keep_their_order(host):
    candidates = [{"embedding": [1.0, 0.0]}, {"embedding": [2.0, 0.0]}, {"embedding": [0.0, 1.0]}]
    assert rank(host, query=[1.0, 0.0], candidates=candidates, top=2) == [
        {"index": 0, "score": 1.0},
        {"index": 1, "score": 1.0},
    ]


@pytest.mark.parametrize(
    ("inputs", "problem"),
    [
        ({"query": [0.0, 0.0], "candidates": [{"embedding": [1.0, 0.0]}]}, "query: The query vector is all zeros"),
        (
            {"query": [1.0, 0.0], "candidates": [{"embedding": [1.0]}]},
            r"candidates\[0\].embedding: has 1 dimensions, the query 2",
        ),
        (
            {"query": [1.0], "candidates": [{"embedding": [1.0]}], "labels": ["a", "b"]},
            "labels: 2 labels for 1 candidates",
        ),
    ],
)
def test_vectors_that_cannot_be_compared_are_refused(host, inputs, problem):
    with pytest.raises(InputValidationError, match=problem):
        rank(host, **inputs)
