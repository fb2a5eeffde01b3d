"""The core `rankBySimilarity` action: candidates ordered by cosine similarity to a query vector.

Generic on purpose: any connector's embeddings action returns vectors, and ranking them is the
step a similarity search needs next. A candidate is an object with its vector in `embedding`
(the shape embeddings APIs return in `data`); `labels`, when given, say what each candidate
stands for (the texts that were embedded) and come back with the scores.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from zhipu_connector.host.errors import InputValidationError, Problem

ACTION = "core.rankBySimilarity"


def rank_by_similarity(inputs: Mapping[str, Any], connection: Any, context: Any) -> list[dict[str, Any]]:
    """`[{index, score, label?}]`, highest score first; ties keep the candidates' order."""
    query = inputs["query"]
    candidates = inputs["candidates"]
    labels = inputs.get("labels")
    problems: list[Problem] = []
    query_norm = _norm(query)
    if query_norm == 0:
        problems.append(Problem("query", "The query vector is all zeros: it is similar to nothing"))
    vectors: list[Sequence[float]] = []
    for index, candidate in enumerate(candidates):
        vector = candidate["embedding"]
        if len(vector) != len(query):
            problems.append(
                Problem(
                    f"candidates[{index}].embedding",
                    f"has {len(vector)} dimensions, the query {len(query)}: vectors of one model and size only",
                )
            )
        vectors.append(vector)
    if labels is not None and len(labels) != len(candidates):
        problems.append(Problem("labels", f"{len(labels)} labels for {len(candidates)} candidates: one per candidate"))
    if problems:
        raise InputValidationError(problems, subject=ACTION)
    scored = []
    for index, vector in enumerate(vectors):
        norm = _norm(vector)
        score = sum(a * b for a, b in zip(query, vector)) / (query_norm * norm) if norm else 0.0
        item: dict[str, Any] = {"index": index, "score": round(score, 6)}
        if labels is not None:
            item["label"] = labels[index]
        scored.append(item)
    scored.sort(key=lambda item: -item["score"])  # stable: ties keep their order
    top = inputs.get("top")
    return scored[:top] if top is not None else scored


def _norm(vector: Sequence[float]) -> float:
    return math.sqrt(sum(x * x for x in vector))
