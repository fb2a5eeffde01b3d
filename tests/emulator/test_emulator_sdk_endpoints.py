"""Both official SDKs, unchanged, against the emulator over a real socket: embeddings, video,
async image and chat tasks, files and batches.

The emulator's clock is a fake one the test moves, so tasks and batches finish without sleeping.
"""

from __future__ import annotations

import io
import json
import math
import struct

import httpx
import pytest
import zai  # test dependencies: their absence is a failure, not a skip
import zhipuai
from platform_support import FakeClock, chat_line, embedding_line, jsonl

from zhipu_connector.emulator import EmulatorConfig, running_emulator

KEY = "sdkkeyid.sdkKeySecret0042"


@pytest.fixture(scope="module")
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="module")
def base_url(clock: FakeClock):
    config = EmulatorConfig(api_keys=frozenset({KEY}), clock=clock, task_seconds=20, batch_seconds=60)
    with running_emulator(config) as url:
        yield url


@pytest.fixture(params=["zhipuai", "zai-sdk"])
def sdk(request, base_url):
    """Each SDK as its users make it for the mainland platform; no retries (they sleep)."""
    if request.param == "zhipuai":
        client = zhipuai.ZhipuAI(api_key=KEY, base_url=base_url + "/", max_retries=0)
    else:
        client = zai.ZhipuAiClient(api_key=KEY, base_url=base_url + "/", max_retries=0)
    yield client
    client.close()


def test_embeddings(sdk) -> None:
    answer = sdk.embeddings.create(
        model="embedding-3", input=["bread baking", "baking bread", "stock prices"], dimensions=256
    )
    vectors = [item.embedding for item in answer.data]
    assert [item.index for item in answer.data] == [0, 1, 2] and all(len(v) == 256 for v in vectors)
    assert all(math.isclose(sum(x * x for x in v), 1.0) for v in vectors)
    similarity = [sum(a * b for a, b in zip(vectors[0], other)) for other in vectors[1:]]
    assert similarity[0] > similarity[1]
    assert answer.usage.completion_tokens == 0 and answer.usage.total_tokens == answer.usage.prompt_tokens == 6
    single = sdk.embeddings.create(model="embedding-2", input="hello")
    assert len(single.data[0].embedding) == 1024


def test_a_video_task(sdk, clock: FakeClock) -> None:
    task = sdk.videos.generations(model="cogvideox-3", prompt="a cat playing the piano", duration=10, fps=60)
    assert task.task_status == "PROCESSING" and task.id
    assert sdk.videos.retrieve_videos_result(id=task.id).task_status == "PROCESSING"
    clock.advance(20)
    done = sdk.videos.retrieve_videos_result(id=task.id)
    assert done.task_status == "SUCCESS" and done.model == "cogvideox-3"
    [result] = done.video_result
    video = httpx.get(result.url)
    assert video.headers["content-type"] == "video/mp4" and video.content[4:8] == b"ftyp"
    assert httpx.get(result.cover_image_url).content.startswith(b"\x89PNG")


def test_a_failed_video_task_asked_for_in_the_prompt(sdk, clock: FakeClock) -> None:
    task = sdk.videos.generations(model="cogvideox-3", prompt="a cat [[fault:task_fail]]")
    clock.advance(20)
    assert sdk.videos.retrieve_videos_result(id=task.id).task_status == "FAIL"


def test_an_unknown_task_is_the_sdks_error(sdk) -> None:
    errors = zhipuai.APIRequestFailedError if isinstance(sdk, zhipuai.ZhipuAI) else zai.core.APIRequestFailedError
    with pytest.raises(errors) as raised:
        sdk.videos.retrieve_videos_result(id="20261010005722dd102476a1894c3f")
    assert raised.value.status_code == 400 and "1233" in str(raised.value.response.text)


def test_an_async_glm_image_task_with_zai_sdk(base_url, clock: FakeClock) -> None:
    client = zai.ZhipuAiClient(api_key=KEY, base_url=base_url + "/", max_retries=0)
    task = client.images.async_generations(model="glm-image", prompt="a lighthouse at dawn", size="1568x1056")
    assert task.task_status == "PROCESSING" and task.model == "glm-image"
    clock.advance(20)
    done = client.images.retrieve_images_result(id=task.id)
    assert done.task_status == "SUCCESS"
    png = httpx.get(done.image_result[0].url).content
    assert png.startswith(b"\x89PNG") and struct.unpack(">II", png[16:24])[0] > struct.unpack(">II", png[16:24])[1]


def test_an_async_chat_task(sdk, clock: FakeClock) -> None:
    task = sdk.chat.asyncCompletions.create(model="glm-4-flash", messages=[{"role": "user", "content": "Hello"}])
    assert task.task_status == "PROCESSING"
    clock.advance(20)
    done = sdk.chat.asyncCompletions.retrieve_completion_result(id=task.id)
    assert done.task_status == "SUCCESS" and done.id == task.id
    assert done.choices[0].message.content.startswith('Here is a short answer about "Hello"')


def test_files_and_a_batch_from_upload_to_output(sdk, clock: FakeClock) -> None:
    rows = [chat_line(f"sdk-row-{n:03d}", f"Question {n}") for n in range(12)]
    uploaded = sdk.files.create(file=("rows.jsonl", io.BytesIO(jsonl(rows))), purpose="batch")
    assert uploaded.purpose == "batch" and uploaded.bytes == len(jsonl(rows))
    assert uploaded.id in [item.id for item in sdk.files.list().data]

    batch = sdk.batches.create(
        input_file_id=uploaded.id, endpoint="/v4/chat/completions", completion_window="24h", metadata={"run": "sdk"}
    )
    assert batch.status == "validating" and batch.request_counts.total == 12
    clock.advance(30)
    running = sdk.batches.retrieve(batch.id)
    assert running.status == "in_progress" and 0 < running.request_counts.completed < 12
    clock.advance(30)
    done = sdk.batches.retrieve(batch.id)
    assert done.status == "completed" and done.request_counts.completed == 12
    assert done.completed_at == done.created_at + 60_000  # milliseconds

    lines = [json.loads(line) for line in sdk.files.content(done.output_file_id).content.splitlines()]
    assert sorted(line["custom_id"] for line in lines) == [row["custom_id"] for row in rows]
    assert sdk.files.delete(done.output_file_id).deleted is True


def test_batch_listing_pages_until_data_is_empty(sdk) -> None:
    line = [embedding_line("sdk-embed-1", "hello")]
    created = [
        sdk.batches.create(
            input_file_id=sdk.files.create(file=("e.jsonl", io.BytesIO(jsonl(line))), purpose="batch").id,
            endpoint="/v4/embeddings",
        ).id
        for _ in range(3)
    ]
    listed = [batch.id for batch in sdk.batches.list(limit=2)]  # auto-paging with after=<last id>
    assert listed[:3] == created[::-1] and len(listed) == len(set(listed))


def test_cancel_a_batch(sdk, clock: FakeClock) -> None:
    rows = [chat_line(f"cancel-{n:03d}") for n in range(4)]
    batch = sdk.batches.create(
        input_file_id=sdk.files.create(file=("c.jsonl", io.BytesIO(jsonl(rows))), purpose="batch").id,
        endpoint="/v4/chat/completions",
    )
    assert sdk.batches.cancel(batch.id).status == "cancelling"
    clock.advance(6)
    assert sdk.batches.retrieve(batch.id).status == "cancelled"


def test_a_file_with_a_newest_model_is_refused_at_upload(sdk) -> None:
    errors = zhipuai.APIRequestFailedError if isinstance(sdk, zhipuai.ZhipuAI) else zai.core.APIRequestFailedError
    rows = [chat_line("new-model-1", model="glm-4.7")]
    with pytest.raises(errors) as raised:
        sdk.files.create(file=("rows.jsonl", io.BytesIO(jsonl(rows))), purpose="batch")
    assert raised.value.status_code == 400 and "1210" in raised.value.response.text


def test_zai_sdks_international_client_against_the_international_platform() -> None:
    clock = FakeClock()
    config = EmulatorConfig(api_keys=frozenset({KEY}), clock=clock, task_seconds=5, platform="international")
    with running_emulator(config) as url:
        client = zai.ZaiClient(api_key=KEY, base_url=url + "/", max_retries=0)
        task = client.videos.generations(model="cogvideox-3", prompt="waves on a beach")
        clock.advance(5)
        assert client.videos.retrieve_videos_result(id=task.id).task_status == "SUCCESS"
        image = client.images.async_generations(model="glm-image", prompt="a lighthouse")
        clock.advance(5)
        assert client.images.retrieve_images_result(id=image.id).task_status == "SUCCESS"
        with pytest.raises(zai.core.APIStatusError) as raised:  # no embeddings on api.z.ai
            client.embeddings.create(model="embedding-3", input="hello")
        assert raised.value.status_code == 404
        client.close()
