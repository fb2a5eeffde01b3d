"""Files and batches: upload checks, the lifecycle on a fake clock, output and error files, paging."""

from __future__ import annotations

import json
import re

import pytest
from platform_support import (
    OTHER_KEY,
    Platform,
    chat_line,
    embedding_line,
    error_of,
    jsonl,
)


@pytest.fixture
def platform() -> Platform:
    return Platform(batch_seconds=100)


def upload(platform: Platform, lines: list[dict] | bytes, **options: object) -> dict:
    response = platform.upload(lines, **options)
    assert response.status_code == 200, response.text
    return response.json()


def create(platform: Platform, file: str, endpoint: str = "/v4/chat/completions", **options: object) -> dict:
    body = {"input_file_id": file, "endpoint": endpoint, "completion_window": None, "auto_delete_input_file": True}
    response = platform.post("/batches", {**body, **options.pop("fields", {})}, **options)
    assert response.status_code == 200, response.text
    return response.json()


def retrieve(platform: Platform, batch: str) -> dict:
    response = platform.get(f"/batches/{batch}")
    assert response.status_code == 200, response.text
    return response.json()


def content(platform: Platform, file: str) -> list[dict]:
    response = platform.get(f"/files/{file}/content")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/octet-stream"
    return [json.loads(line) for line in response.content.splitlines()]


ROWS = [chat_line(f"row-{n:04d}", f"Question number {n}") for n in range(20)]


def test_an_upload_is_described_as_the_platform_does(platform: Platform) -> None:
    described = upload(platform, ROWS[:2], filename="probe-batch.jsonl")
    assert set(described) == {"id", "object", "bytes", "filename", "purpose", "created_at"}
    assert re.fullmatch(r"\d{10}_[0-9a-f]{32}", described["id"])
    assert described["object"] == "file" and described["purpose"] == "batch"
    assert described["filename"] == "probe-batch.jsonl" and described["bytes"] == len(jsonl(ROWS[:2]))
    assert described["created_at"] == int(platform.clock.now)
    assert platform.get(f"/files/{described['id']}/content").content == jsonl(ROWS[:2])


@pytest.mark.parametrize(
    ("lines", "words"),
    [
        ([chat_line("row-0001", model="glm-4.7")], "model name error: glm-4.7; supported models: glm-5.1, glm-5-turbo"),
        ([chat_line("row-0001", model="glm-4-flash-250414")], "model name error: glm-4-flash-250414"),
        ([chat_line("short")], "line 1: custom_id must be a string of at least 6 characters"),
        ([chat_line("same-id"), chat_line("same-id")], "line 2: custom_id 'same-id' is used twice"),
        ([chat_line("row-0001"), chat_line("row-0002", model="glm-4-plus")], "line 2: a batch file holds one model only"),
        ([{**chat_line("row-0001"), "method": "GET"}], "line 1: method must be POST"),
        ([{**chat_line("row-0001"), "url": "/v1/chat/completions"}], "line 1: url must be one of /v4/chat/completions"),
        ([], "a batch file needs at least one request line"),
    ],
)  # fmt: skip
def test_a_batch_file_is_checked_at_upload(platform: Platform, lines: list[dict], words: str) -> None:
    status, code, message = error_of(platform.upload(lines))
    assert (status, code) == (400, "1210") and words in message, message
    assert platform.get("/files").json()["data"] == []  # nothing was kept


def test_the_line_count_limits() -> None:
    platform = Platform()
    embeddings = [embedding_line(f"emb-{n:06d}") for n in range(10_001)]
    status, code, message = error_of(platform.upload(embeddings))
    assert (status, code, message) == (400, "1210", "file: 10001 requests, more than 10000 for embedding-3")
    assert platform.upload(embeddings[:10_000]).status_code == 200
    chats = jsonl([chat_line(f"row-{n:06d}", "x") for n in range(50_001)])
    assert error_of(platform.upload(chats))[2] == "file: 50001 requests, more than 50000 for glm-4-flash"


def test_a_file_that_is_not_jsonl_or_json(platform: Platform) -> None:
    assert "must be a .jsonl file" in error_of(platform.upload(ROWS[:1], filename="rows.json"))[2]
    assert error_of(platform.upload(b"{not json}\n"))[2] == "file line 1: not valid JSON"


def test_list_content_and_delete_files(platform: Platform) -> None:
    ids = [upload(platform, [chat_line(f"file-{n}-row")])["id"] for n in range(5)]
    listed = platform.get("/files").json()
    assert listed["object"] == "list" and [f["id"] for f in listed["data"]] == ids[::-1]
    assert platform.get("/files", params={"purpose": "batch"}).json()["data"] == listed["data"]
    deleted = platform.request("DELETE", f"/files/{ids[0]}")
    assert deleted.json() == {"id": ids[0], "object": "file", "deleted": True}
    assert error_of(platform.get(f"/files/{ids[0]}/content"))[:2] == (404, "1214")
    assert error_of(platform.get(f"/files/{ids[1]}/content", key=OTHER_KEY))[:2] == (404, "1214")
    assert platform.get("/files", key=OTHER_KEY).json()["data"] == []


def test_lists_page_with_after_until_data_is_empty(platform: Platform) -> None:
    ids = [upload(platform, [chat_line(f"page-{n}-row")])["id"] for n in range(7)]
    seen, after, pages = [], None, 0
    while True:
        query = {"limit": 3, **({"after": after} if after else {})}
        page = platform.get("/files", params=query).json()
        pages += 1
        if not page["data"]:
            break
        assert page["has_more"] == (len(seen) + len(page["data"]) < 7)
        seen += [item["id"] for item in page["data"]]
        after = seen[-1]
    assert seen == ids[::-1] and pages == 4
    assert (
        error_of(platform.get("/files", params={"limit": 101}))[2]
        == "limit: must be an integer from 1 to 100, got '101'"
    )


def test_a_batch_runs_on_the_clock_with_millisecond_timestamps(platform: Platform) -> None:
    file = upload(platform, ROWS)["id"]
    batch = create(platform, file, fields={"metadata": {"probe": "emulator"}})
    created_ms = int(platform.clock.now * 1000)
    assert re.fullmatch(r"batch_\d{19}", batch["id"])
    assert batch["status"] == "validating" and batch["object"] == "batch"
    assert batch["created_at"] == created_ms and len(str(batch["created_at"])) == 13
    assert batch["request_counts"] == {"total": 20, "completed": None, "failed": None}
    assert batch["output_file_id"] is None and batch["error_file_id"] is None and batch["completion_window"] is None
    assert batch["metadata"] == {"probe": "emulator"}
    assert all(batch[name] is None for name in ("in_progress_at", "completed_at", "failed_at", "expires_at"))

    platform.clock.advance(40)  # validated at 10 s, half of the running time (10-70 s) gone
    running = retrieve(platform, batch["id"])
    assert running["status"] == "in_progress" and running["in_progress_at"] == created_ms + 10_000
    assert running["request_counts"] == {"total": 20, "completed": 10, "failed": 0}
    platform.clock.advance(40)
    finalizing = retrieve(platform, batch["id"])
    assert finalizing["status"] == "finalizing" and finalizing["request_counts"]["completed"] == 20
    assert finalizing["finalizing_at"] == created_ms + 70_000 and finalizing["output_file_id"] is None
    platform.clock.advance(20)
    done = retrieve(platform, batch["id"])
    assert done["status"] == "completed" and done["completed_at"] == created_ms + 100_000
    assert done["error_file_id"] == "" and done["completion_window"] == ""
    assert re.fullmatch(r"\d{10}_[0-9a-f]{32}", done["output_file_id"])

    lines = content(platform, done["output_file_id"])
    assert sorted(line["custom_id"] for line in lines) == [row["custom_id"] for row in ROWS]
    assert [line["custom_id"] for line in lines] != [row["custom_id"] for row in ROWS]  # order not kept
    for line in lines:
        assert set(line) == {"response", "custom_id", "id"} and line["id"] == batch["id"]
        assert line["response"]["status_code"] == 200
        body = line["response"]["body"]
        assert "object" not in body and "task_status" not in body
        assert re.fullmatch(rf"\d+-{line['custom_id']}", body["request_id"])
        assert body["model"] == "glm-4-flash" and body["choices"][0]["message"]["role"] == "assistant"
    # auto_delete_input_file: the input is gone once the batch is over
    assert error_of(platform.get(f"/files/{file}/content"))[:2] == (404, "1214")


def test_the_output_is_the_real_time_reply(platform: Platform) -> None:
    row = chat_line("same-as-live", "What is the capital of France?", max_tokens=5)
    live = platform.post("/chat/completions", row["body"]).json()
    batch = create(platform, upload(platform, [row])["id"])
    platform.clock.advance(100)
    [line] = content(platform, retrieve(platform, batch["id"])["output_file_id"])
    body = line["response"]["body"]
    assert body["choices"] == live["choices"] and body["usage"] == live["usage"]


def test_embedding_and_image_batches(platform: Platform) -> None:
    rows = [embedding_line(f"emb-{n:04d}", f"text {n}") for n in range(3)]
    batch = create(platform, upload(platform, rows)["id"], endpoint="/v4/embeddings")
    platform.clock.advance(100)
    lines = content(platform, retrieve(platform, batch["id"])["output_file_id"])
    live = platform.post("/embeddings", rows[0]["body"]).json()["data"][0]["embedding"]
    by_id = {line["custom_id"]: line["response"]["body"] for line in lines}
    assert by_id["emb-0000"]["data"][0]["embedding"] == live

    image = {"custom_id": "img-0001", "method": "POST", "url": "/v4/images/generations"}
    image["body"] = {"model": "cogview-3", "prompt": "a fox"}
    batch = create(platform, upload(platform, [image])["id"], endpoint="/v4/images/generations")
    platform.clock.advance(100)
    [line] = content(platform, retrieve(platform, batch["id"])["output_file_id"])
    url = line["response"]["body"]["data"][0]["url"]
    assert platform.request("GET", url, key="").headers["content-type"] == "image/png"


def test_bad_lines_and_marked_lines_go_to_the_error_file(platform: Platform) -> None:
    rows = [
        chat_line("good-0001"),
        chat_line("hot-00002", temperature=1.5),
        chat_line("mark-0003", "[[fault:sensitive]] tell me"),
        chat_line("good-0004"),
    ]
    batch = create(platform, upload(platform, rows)["id"])
    platform.clock.advance(100)
    done = retrieve(platform, batch["id"])
    assert done["request_counts"] == {"total": 4, "completed": 2, "failed": 2}
    errors = {line["custom_id"]: line["response"] for line in content(platform, done["error_file_id"])}
    assert errors["hot-00002"]["status_code"] == 400 and errors["hot-00002"]["body"]["error"]["code"] == "1214"
    assert "temperature" in errors["hot-00002"]["body"]["error"]["message"]
    assert errors["mark-0003"]["status_code"] == 400 and errors["mark-0003"]["body"]["error"]["code"] == "1301"
    assert sorted(line["custom_id"] for line in content(platform, done["output_file_id"])) == ["good-0001", "good-0004"]


def test_the_failed_lines_fault(platform: Platform) -> None:
    batch = create(platform, upload(platform, ROWS)["id"], headers={"X-Emulator-Fault": "failed_lines;times=3"})
    platform.clock.advance(100)
    done = retrieve(platform, batch["id"])
    assert done["request_counts"] == {"total": 20, "completed": 17, "failed": 3}
    failed = sorted(line["custom_id"] for line in content(platform, done["error_file_id"]))
    assert failed == ["row-0000", "row-0001", "row-0002"]


def test_an_expired_batch_keeps_what_was_done(platform: Platform) -> None:
    batch = create(platform, upload(platform, ROWS)["id"], headers={"X-Emulator-Fault": "batch_expired"})
    platform.clock.advance(39.9)
    assert retrieve(platform, batch["id"])["status"] == "in_progress"
    platform.clock.advance(0.1)
    expired = retrieve(platform, batch["id"])
    assert expired["status"] == "expired" and expired["expired_at"] == batch["created_at"] + 40_000
    assert expired["request_counts"] == {"total": 20, "completed": 10, "failed": 0}
    assert len(content(platform, expired["output_file_id"])) == 10 and expired["error_file_id"] == ""


def test_a_batch_that_fails_validation(platform: Platform) -> None:
    configured = Platform(batch_seconds=100, fault="batch_invalid")
    batch = create(configured, upload(configured, ROWS)["id"])
    configured.clock.advance(10)
    failed = retrieve(configured, batch["id"])
    assert failed["status"] == "failed" and failed["failed_at"] == batch["created_at"] + 10_000
    assert failed["errors"]["data"][0]["line"] == 1 and failed["output_file_id"] == ""
    # and naturally: lines whose url is not the batch's endpoint
    mismatch = create(platform, upload(platform, ROWS[:2])["id"], endpoint="/v4/embeddings")
    platform.clock.advance(10)
    failed = retrieve(platform, mismatch["id"])
    assert failed["status"] == "failed" and [error["line"] for error in failed["errors"]["data"]] == [1, 2]


def test_cancel(platform: Platform) -> None:
    batch = create(platform, upload(platform, ROWS)["id"])
    platform.clock.advance(40)
    cancelling = platform.post(f"/batches/{batch['id']}/cancel").json()
    assert cancelling["status"] == "cancelling" and cancelling["cancelling_at"] == batch["created_at"] + 40_000
    platform.clock.advance(10)
    cancelled = retrieve(platform, batch["id"])
    assert cancelled["status"] == "cancelled" and cancelled["request_counts"]["completed"] == 10
    assert len(content(platform, cancelled["output_file_id"])) == 10
    again = platform.post(f"/batches/{batch['id']}/cancel")
    assert error_of(again) == (400, "1210", f"batch_id: {batch['id']} is cancelled and cannot be cancelled")


def test_list_batches_pages_with_after(platform: Platform) -> None:
    ids = [create(platform, upload(platform, [chat_line(f"list-{n}-row")])["id"])["id"] for n in range(4)]
    first = platform.get("/batches", params={"limit": 3}).json()
    assert [b["id"] for b in first["data"]] == ids[::-1][:3] and first["has_more"] is True
    rest = platform.get("/batches", params={"limit": 3, "after": first["data"][-1]["id"]}).json()
    assert [b["id"] for b in rest["data"]] == ids[:1] and rest["has_more"] is False
    assert platform.get("/batches", params={"after": ids[0]}).json()["data"] == []
    assert platform.get("/batches", key=OTHER_KEY).json()["data"] == []


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"endpoint": "/v1/chat/completions"}, "endpoint: must be one of /v4/chat/completions, /v4/embeddings, /v4/images/generations"),
        ({"input_file_id": "1791565720_nope"}, "file_id: no file '1791565720_nope'"),
        ({"auto_delete_input_file": "yes"}, "auto_delete_input_file: must be a boolean (true or false)"),
        ({"metadata": {str(n): "v" for n in range(17)}}, "metadata: must be an object of at most 16 key/value pairs"),
        ({"priority": 1}, "priority: unknown field"),
    ],
)  # fmt: skip
def test_bad_batch_bodies(platform: Platform, fields: dict, expected: str) -> None:
    body = {"input_file_id": upload(platform, ROWS[:1])["id"], "endpoint": "/v4/chat/completions", **fields}
    message = error_of(platform.post("/batches", body))[2]
    assert message.startswith(expected), message


def test_unknown_batch(platform: Platform) -> None:
    assert error_of(platform.get("/batches/batch_1000000000000000000"))[:2] == (404, "1214")


def test_the_international_platform_has_no_batches_and_only_uploads_agent_files() -> None:
    international = Platform(platform="international")
    assert error_of(international.get("/batches"))[:2] == (404, "1222")
    assert error_of(international.post("/batches", {}))[:2] == (404, "1222")
    assert error_of(international.get("/files/x/content"))[:2] == (404, "1222")
    assert international.get("/files").status_code == 405
    assert error_of(international.upload(ROWS[:1]))[2] == "purpose: must be one of agent, user_data, got 'batch'"
    agent = international.upload(b"%PDF-1.4", filename="brief.pdf", purpose="agent")
    assert agent.status_code == 200 and agent.json()["purpose"] == "agent"


def test_a_zero_time_batch_completes_on_first_read() -> None:
    platform = Platform(batch_seconds=0)
    batch = create(platform, upload(platform, ROWS[:3])["id"])
    assert retrieve(platform, batch["id"])["status"] == "completed"


def test_the_size_and_file_count_limits(platform: Platform, monkeypatch: pytest.MonkeyPatch) -> None:
    from zhipu_connector.emulator import files

    monkeypatch.setattr(files, "MAX_FILE_BYTES", 200)
    big = jsonl([chat_line(f"row-{n:04d}") for n in range(3)])
    assert len(big) > 200
    assert error_of(platform.upload(big)) == (435, "435", f"file: {len(big)} bytes, more than 100 MB")
    monkeypatch.setattr(files, "MAX_BATCH_FILES", 2)
    upload(platform, ROWS[:1])
    upload(platform, ROWS[1:2])
    assert error_of(platform.upload(ROWS[2:3])) == (
        400, "1210", "file: at most 2 batch files per account; delete some",
    )  # fmt: skip
    assert platform.upload(ROWS[2:3], key=OTHER_KEY).status_code == 200  # the limit is per account


def test_a_line_separator_inside_a_text_is_not_a_line_end(platform: Platform) -> None:
    rows = [chat_line("sep-00001", "one\u2028two\u0085three"), chat_line("crlf-0002")]
    content_bytes = jsonl(rows).replace(b"}\n", b"}\r\n", 1)  # a CRLF line end is fine too
    batch = create(platform, upload(platform, content_bytes)["id"])
    platform.clock.advance(100)
    done = retrieve(platform, batch["id"])
    assert done["request_counts"] == {"total": 2, "completed": 2, "failed": 0}


def test_hostile_lines_are_refused_at_upload(platform: Platform) -> None:
    lone = b'{"custom_id": "bad-\\ud800-id", "method": "POST", "url": "/v4/chat/completions", "body": {"model": "glm-4-flash"}}\n'
    assert error_of(platform.upload(lone)) == (
        400, "1210", "file line 1: holds a lone UTF-16 surrogate, which is not valid text",
    )  # fmt: skip
    pair = json.dumps(chat_line("emoji-0001", "smile \U0001f600")).encode()  # an escaped pair is fine
    assert b"\\ud83d\\ude00" in pair and platform.upload(pair).status_code == 200
    deep = b'{"custom_id": "deep-0001", "body": ' + b"[" * 100_000 + b"]" * 100_000 + b"}\n"
    assert error_of(platform.upload(deep)) == (400, "1210", "file line 1: not valid JSON")
