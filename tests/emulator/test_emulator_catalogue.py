"""`GET /models`, and which platform serves which of the further endpoints."""

from __future__ import annotations

import re
import subprocess
import sys

import httpx
import pytest
from platform_support import Platform, error_of


def test_the_mainland_lists_its_chat_models_as_the_live_platform_does() -> None:
    response = Platform().get("/models")
    assert response.status_code == 200
    payload = response.json()
    assert payload["object"] == "list"
    ids = [model["id"] for model in payload["data"]]
    assert ids[0] == "glm-4.5" and "glm-5.3" in ids and "glm-5.3-flashx" in ids
    assert not any(model.startswith(("embedding", "cogview", "cogvideo", "glm-image")) for model in ids)
    assert all(set(model) == {"id", "object", "created", "owned_by"} for model in payload["data"])
    assert all(model["object"] == "model" and model["owned_by"] == "z-ai" for model in payload["data"])


def test_the_model_list_needs_a_key_and_takes_faults() -> None:
    platform = Platform()
    assert error_of(platform.get("/models", key="no-dot-key"))[:2] == (401, "1002")
    assert error_of(platform.get("/models", headers={"X-Emulator-Fault": "unavailable"}))[:2] == (503, "503")
    assert platform.request("POST", "/models").status_code == 405


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/models"),
        ("POST", "/embeddings"),
        ("GET", "/batches"),
        ("POST", "/batches"),
        ("GET", "/batches/batch_1"),
        ("POST", "/batches/batch_1/cancel"),
        ("GET", "/files/1_ab/content"),
        ("DELETE", "/files/1_ab"),
    ],
)
def test_the_international_platform_lacks_them(method: str, path: str) -> None:
    response = Platform(platform="international").request(method, path)
    assert error_of(response) == (404, "1222", f"API does not exist: /api/paas/v4{path}")


@pytest.mark.parametrize("path", ["/videos/generations", "/async/images/generations"])
def test_both_platforms_serve_the_tasks(path: str) -> None:
    body = {"model": "glm-image" if "images" in path else "cogvideox-3", "prompt": "a quiet harbour"}
    for name in ("mainland", "international"):
        platform = Platform(platform=name)
        task = platform.post(path, body).json()
        assert platform.get(f"/async-result/{task['id']}").json()["task_status"] == "PROCESSING"


@pytest.mark.slow
def test_the_command_line_picks_the_platform_and_the_task_time() -> None:
    command = [sys.executable, "-m", "zhipu_connector.emulator", "--port", "0", "--platform", "international"]
    process = subprocess.Popen(
        [*command, "--task-seconds", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        banner = process.stdout.readline()  # type: ignore[union-attr]
        match = re.search(r"(http://127\.0\.0\.1:\d+/api/paas/v4)", banner)
        assert match, banner
        url, auth = match.group(1), {"Authorization": "Bearer cli-key.cli-secret"}
        assert (
            httpx.post(f"{url}/embeddings", json={"model": "embedding-3", "input": "x"}, headers=auth).status_code
            == 404
        )
        task = httpx.post(
            f"{url}/videos/generations", json={"model": "cogvideox-3", "prompt": "x"}, headers=auth
        ).json()
        assert httpx.get(f"{url}/async-result/{task['id']}", headers=auth).json()["task_status"] == "SUCCESS"
    finally:
        process.terminate()
        process.communicate(timeout=10)
