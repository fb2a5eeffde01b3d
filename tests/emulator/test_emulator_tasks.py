"""Video and async image tasks: submit, poll `/async-result/{id}` as the clock moves, download.

The clock is a fake one the test moves: no test sleeps.
"""

from __future__ import annotations

import base64
import re
import struct

import pytest
from platform_support import KEY, OTHER_KEY, Platform, error_of

VIDEO = {"model": "cogvideox-3", "prompt": "a cat playing the piano"}
GLM_IMAGE = {"model": "glm-image", "prompt": "a lighthouse at dawn"}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def platform() -> Platform:
    return Platform(task_seconds=30)


def submit(platform: Platform, path: str, body: dict, **options: object) -> dict:
    response = platform.post(path, body, **options)
    assert response.status_code == 200, response.text
    return response.json()


def poll(platform: Platform, task: str, **options: object) -> dict:
    response = platform.get(f"/async-result/{task}", **options)
    assert response.status_code == 200, response.text
    return response.json()


def mp4_boxes(data: bytes) -> dict[bytes, bytes]:
    """The top-level boxes of an MP4, checking that their sizes tile the file exactly."""
    boxes, position = {}, 0
    while position < len(data):
        size, kind = struct.unpack(">I4s", data[position : position + 8])
        assert size >= 8
        boxes[kind] = data[position + 8 : position + size]
        position += size
    assert position == len(data)
    return boxes


def test_a_video_task_is_processing_then_succeeds_with_urls_the_emulator_serves(platform: Platform) -> None:
    task = submit(platform, "/videos/generations", VIDEO)
    assert set(task) == {"model", "id", "request_id", "task_status"}
    assert task["task_status"] == "PROCESSING" and task["model"] == "cogvideox-3"
    assert re.fullmatch(r"\d{14}[0-9a-f]{16}", task["id"]) and task["request_id"] == task["id"]

    assert poll(platform, task["id"]) == {"id": task["id"], "request_id": task["id"], "task_status": "PROCESSING"}
    platform.clock.advance(29.9)
    assert poll(platform, task["id"])["task_status"] == "PROCESSING"
    platform.clock.advance(0.1)
    done = poll(platform, task["id"])
    assert set(done) == {"model", "task_status", "video_result", "request_id"}
    assert done["task_status"] == "SUCCESS" and done["model"] == "cogvideox-3"
    [result] = done["video_result"]
    assert result["url"].startswith("http://emulator.test/emulator/videos/") and result["url"].endswith(".mp4")

    video = platform.request("GET", result["url"], key="")
    assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"
    boxes = mp4_boxes(video.content)
    assert list(boxes) == [b"ftyp", b"mdat", b"moov"] and boxes[b"ftyp"][:4] == b"isom"
    mvhd = boxes[b"moov"][boxes[b"moov"].index(b"mvhd") + 4 :]
    timescale, duration = struct.unpack(">II", mvhd[12:20])
    assert duration / timescale == 5  # the default duration

    cover = platform.request("GET", result["cover_image_url"], key="")
    assert cover.status_code == 200 and cover.headers["content-type"] == "image/png"
    assert cover.content.startswith(PNG_SIGNATURE)


def test_the_video_follows_the_asked_duration_fps_and_aspect(platform: Platform) -> None:
    body = {**VIDEO, "duration": 10, "fps": 60, "size": "1080x1920", "quality": "quality", "with_audio": True}
    task = submit(platform, "/videos/generations", body)
    platform.clock.advance(30)
    url = poll(platform, task["id"])["video_result"][0]["url"]
    moov = mp4_boxes(platform.request("GET", url, key="").content)[b"moov"]
    mvhd = moov[moov.index(b"mvhd") + 4 :]
    assert struct.unpack(">II", mvhd[12:20]) == (1000, 10_000)
    mdhd = moov[moov.index(b"mdhd") + 4 :]
    fps, frames = struct.unpack(">II", mdhd[12:20])
    assert (fps, frames) == (60, 600)
    tkhd = moov[moov.index(b"tkhd") + 4 :]
    width, height = (value >> 16 for value in struct.unpack(">II", tkhd[76:84]))
    assert width < height  # portrait, as 1080x1920 asks


def test_a_request_id_is_echoed(platform: Platform) -> None:
    task = submit(platform, "/videos/generations", {**VIDEO, "request_id": "my-request-1"})
    assert task["request_id"] == "my-request-1" and task["id"] != "my-request-1"
    platform.clock.advance(30)
    assert poll(platform, task["id"])["request_id"] == "my-request-1"


def test_the_sdks_nulls_count_as_absent(platform: Platform) -> None:
    nulls = dict.fromkeys(("image_url", "quality", "with_audio", "size", "duration", "fps", "request_id", "user_id"))
    assert submit(platform, "/videos/generations", {**VIDEO, **nulls})["task_status"] == "PROCESSING"


def test_first_and_last_frame_images(platform: Platform) -> None:
    frame = "data:image/png;base64," + base64.b64encode(PNG_SIGNATURE + b"tiny").decode()
    body = {"model": "cogvideox-3", "image_url": ["https://example.com/first.png", frame]}
    assert submit(platform, "/videos/generations", body)["task_status"] == "PROCESSING"
    three = {"model": "cogvideox-3", "image_url": ["https://a/1.png", "https://a/2.png", "https://a/3.png"]}
    assert error_of(platform.post("/videos/generations", three)) == (
        400, "1214", "image_url: an array must hold exactly 2 images, the first and the last frame",
    )  # fmt: skip
    international = Platform(platform="international")
    assert error_of(international.post("/videos/generations", {**body, "quality": "quality"})) == (
        400, "1214", 'quality: first and last frame mode only supports "speed"',
    )  # fmt: skip


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"prompt": "x"}, (400, "1214", "model: required")),
        ({"model": "sora", "prompt": "x"}, (400, "1211", "model: unknown model 'sora'")),
        ({"model": "cogvideox-3"}, (400, "1214", "prompt, image_url: give a prompt, an image, or both; they cannot both be empty")),
        ({**VIDEO, "duration": 8}, (400, "1214", "duration: The current duration value is not supported; cogvideox-3 accepts 5 or 10")),
        ({"model": "cogvideox-2", "prompt": "x", "duration": 5}, (400, "1214", "duration: not accepted by cogvideox-2")),
        ({**VIDEO, "fps": 24}, (400, "1214", "fps: must be 30 or 60 for cogvideox-3, got 24")),
        ({**VIDEO, "size": "720x480"}, (400, "1214", "size: must be ")),
        ({"model": "cogvideox-2", "prompt": "x", "size": "720x480"}, None),
        ({**VIDEO, "quality": "hd"}, (400, "1214", "quality: must be 'speed' or 'quality' for cogvideox-3, got 'hd'")),
        ({**VIDEO, "with_audio": "yes"}, (400, "1214", "with_audio: must be a boolean (true or false)")),
        ({**VIDEO, "prompt": "x" * 513}, (400, "1214", "prompt: at most 512 characters, got 513")),
        ({**VIDEO, "style": "anime"}, (400, "1214", "style: not accepted by cogvideox-3")),
        ({"model": "viduq1-text", "prompt": "x", "style": "anime", "aspect_ratio": "9:16"}, None),
        ({"model": "viduq1-text", "prompt": "x", "duration": 4}, (400, "1214", "duration: The current duration value is not supported; viduq1-text accepts 5")),
        ({"model": "vidu2-image", "image_url": "https://a/1.png", "duration": 4, "with_audio": True}, None),
        ({"model": "vidu2-image", "prompt": "x"}, (400, "1214", "image_url: vidu2-image takes 1-1 images, got 0")),
        ({"model": "vidu2-reference", "image_url": ["https://a/1.png"] * 4}, (400, "1214", "image_url: vidu2-reference takes 1-3 images, got 4")),
        ({"model": "cogvideox-flash", "image_url": ["https://a/1.png"]}, (400, "1214", "image_url: cogvideox-flash takes one image (a string)")),
        ({**VIDEO, "image_url": "not base64!"}, (400, "1214", "image_url: must be an http(s) URL or base64 image data")),
        ({**VIDEO, "off_peak": True}, (400, "1214", "off_peak: not accepted by cogvideox-3")),
    ],
)  # fmt: skip
def test_the_per_model_rules(platform: Platform, body: dict, expected: tuple | None) -> None:
    response = platform.post("/videos/generations", body)
    if expected is None:
        assert response.status_code == 200, response.text
        return
    status, code, message = error_of(response)
    assert (status, code) == expected[:2] and message.startswith(expected[2]), message


def test_an_image_over_5_mb_is_refused(platform: Platform) -> None:
    big = base64.b64encode(b"\0" * (5 * 1024 * 1024 + 1)).decode()
    status, code, message = error_of(platform.post("/videos/generations", {**VIDEO, "image_url": big}))
    assert (status, code) == (400, "1214") and "more than 5 MB" in message


def test_the_international_platform_serves_cogvideox_3_but_not_cogvideox_2() -> None:
    international = Platform(platform="international")
    assert international.post("/videos/generations", VIDEO).status_code == 200
    assert error_of(international.post("/videos/generations", {"model": "cogvideox-2", "prompt": "x"}))[:2] == (
        400, "1211",
    )  # fmt: skip
    # live api.z.ai answers a body without `model` with a 500
    assert error_of(international.post("/videos/generations", {"prompt": "x"}))[:2] == (500, "500")


def test_an_async_glm_image_task(platform: Platform) -> None:
    task = submit(platform, "/async/images/generations", {**GLM_IMAGE, "size": "1728x960"})
    assert task["model"] == "glm-image" and task["task_status"] == "PROCESSING"
    platform.clock.advance(30)
    done = poll(platform, task["id"])
    assert set(done) == {"model", "task_status", "image_result", "request_id"} and done["task_status"] == "SUCCESS"
    image = platform.request("GET", done["image_result"][0]["url"], key="")
    assert image.headers["content-type"] == "image/png" and image.content.startswith(PNG_SIGNATURE)
    width, height = struct.unpack(">II", image.content[16:24])
    assert width > height


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({**GLM_IMAGE, "model": "cogview-4"}, (400, "1211", "model: async image generation supports glm-image only, got 'cogview-4'")),
        ({**GLM_IMAGE, "quality": "standard"}, (400, "1214", 'quality: must be "hd" for async glm-image, got \'standard\'')),
        ({**GLM_IMAGE, "size": "1000x1000"}, (400, "1214", "size: 1000x1000 is not accepted by glm-image: each side 1024-2048 and divisible by 32, at most 4194304 pixels")),
        ({"model": "glm-image"}, (400, "1214", "prompt: required, a non-empty string")),
        ({**GLM_IMAGE, "n": 2}, (400, "1214", "n: unknown field; async image generation accepts model, prompt, quality, size, user_id, request_id, watermark_enabled")),
    ],
)  # fmt: skip
def test_async_image_rules(platform: Platform, body: dict, expected: tuple) -> None:
    assert error_of(platform.post("/async/images/generations", body)) == expected


def test_a_failed_task(platform: Platform) -> None:
    task = submit(platform, "/videos/generations", VIDEO, headers={"X-Emulator-Fault": "task_fail"})
    assert poll(platform, task["id"])["task_status"] == "PROCESSING"
    platform.clock.advance(30)
    assert poll(platform, task["id"]) == {"model": "cogvideox-3", "task_status": "FAIL", "request_id": task["id"]}


def test_a_failed_task_from_a_prompt_marker_and_times(platform: Platform) -> None:
    body = {**GLM_IMAGE, "prompt": "a lighthouse [[fault:task_fail;times=1]]", "request_id": "retry-same-1"}
    first, second = (
        submit(platform, "/async/images/generations", body),
        submit(platform, "/async/images/generations", body),
    )
    platform.clock.advance(30)
    assert poll(platform, first["id"])["task_status"] == "FAIL"
    assert poll(platform, second["id"])["task_status"] == "SUCCESS"


def test_a_task_that_never_finishes(platform: Platform) -> None:
    task = submit(platform, "/videos/generations", VIDEO, headers={"X-Emulator-Fault": "task_stuck"})
    platform.clock.advance(10**6)
    assert poll(platform, task["id"])["task_status"] == "PROCESSING"


def test_unknown_lost_and_other_accounts_task_ids(platform: Platform) -> None:
    unknown = platform.get("/async-result/20261010005722dd102476a1894c3f")
    assert error_of(unknown) == (400, "1233", "Task 20261010005722dd102476a1894c3f does not exist (任务不存在)")
    lost = submit(platform, "/videos/generations", VIDEO, headers={"X-Emulator-Fault": "task_lost"})
    assert error_of(platform.get(f"/async-result/{lost['id']}"))[:2] == (400, "1233")
    mine = submit(platform, "/videos/generations", VIDEO, key=KEY)
    assert error_of(platform.get(f"/async-result/{mine['id']}", key=OTHER_KEY))[:2] == (400, "1233")


def test_error_faults_and_misapplied_faults(platform: Platform) -> None:
    refused = platform.post("/videos/generations", VIDEO, headers={"X-Emulator-Fault": "no_balance"})
    assert error_of(refused)[:2] == (429, "1113")
    misapplied = platform.post("/videos/generations", VIDEO, headers={"X-Emulator-Fault": "batch_expired"})
    assert error_of(misapplied) == (400, "1210", "X-Emulator-Fault: batch_expired does not apply to video generation")
    assert error_of(platform.get("/async-result/x", headers={"X-Emulator-Fault": "task_fail"}))[:2] == (400, "1210")


def test_a_configured_task_fault_fails_every_task_and_leaves_chat_alone() -> None:
    platform = Platform(task_seconds=0, fault="task_fail")
    task = submit(platform, "/videos/generations", VIDEO)
    assert poll(platform, task["id"])["task_status"] == "FAIL"
    chat = platform.post("/chat/completions", {"model": "glm-4-flash", "messages": [{"role": "user", "content": "Hi"}]})
    assert chat.status_code == 200


def test_unknown_videos_are_404(platform: Platform) -> None:
    assert platform.request("GET", "http://emulator.test/emulator/videos/nope.mp4", key="").status_code == 404


CHAT = {"model": "glm-4-flash", "messages": [{"role": "user", "content": "What is the capital of France?"}]}


def test_an_async_chat_task_carries_the_real_time_reply(platform: Platform) -> None:
    live = platform.post("/chat/completions", CHAT).json()
    task = submit(platform, "/async/chat/completions", {**CHAT, "stream": True})  # stream is ignored
    assert task["model"] == "glm-4-flash" and task["task_status"] == "PROCESSING"
    assert poll(platform, task["id"]) == {"id": task["id"], "request_id": task["id"], "task_status": "PROCESSING"}
    platform.clock.advance(30)
    done = poll(platform, task["id"])
    assert done["task_status"] == "SUCCESS" and done["id"] == task["id"] and done["request_id"] == task["id"]
    assert done["choices"] == live["choices"] and done["usage"] == live["usage"] and "object" not in done
    assert done["model"] == "GLM-4-Flash"  # a display name, as the live platform answers


def test_an_async_chat_body_is_validated_at_submit(platform: Platform) -> None:
    response = platform.post("/async/chat/completions", {**CHAT, "temperature": 2})
    status, code, message = error_of(response)
    assert (status, code) == (400, "1214") and message.startswith("temperature:")
    assert error_of(Platform(platform="international").post("/async/chat/completions", CHAT))[:2] == (404, "1222")


def test_a_video_answers_head_and_refuses_other_methods(platform: Platform) -> None:
    task = submit(platform, "/videos/generations", VIDEO)
    platform.clock.advance(30)
    url = poll(platform, task["id"])["video_result"][0]["url"]
    whole = platform.request("GET", url, key="")
    head = platform.request("HEAD", url, key="")
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["content-length"]) == len(whole.content)
    refused = platform.request("POST", url, key="")
    assert refused.status_code == 405 and refused.headers["allow"] == "GET, HEAD"
