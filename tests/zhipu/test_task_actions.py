"""Generate video, Create image (async) and Get task result against the emulator, on a fake clock.

Each action runs through the host (dispatch, its schemas and the real handlers), sync and async,
against the in-process emulator; the emulator's tasks and the connector's waits share one fake
clock, so the polling schedule, timeouts and faults are exact and nothing sleeps.
"""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import httpx
import pytest
from task_clock import FakeClock, fake_task_time

from zhipu_connector.emulator import EmulatorConfig, create_app
from zhipu_connector.host.context import ActionContext
from zhipu_connector.host.errors import ActionCancelledError, InputValidationError
from zhipu_connector.host.host import Host
from zhipu_connector.zhipu import connections
from zhipu_connector.zhipu.errors import InvalidRequestError, ZhipuError, ZhipuTimeoutError

KEY = "taskkey.taskSecret0001"
LOCAL = "http://emulator/api/paas/v4"
INTERNATIONAL = "https://api.z.ai/api/paas/v4"
TASK_SECONDS = 10.0


class Recorder:
    """The emulator app, remembering each request's method, path and JSON body."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.requests: list[tuple[str, str, Any]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []

        async def recording_receive() -> Any:
            message = await receive()
            if message["type"] == "http.request":
                chunks.append(message.get("body", b""))
            return message

        try:
            await self.app(scope, recording_receive, send)
        finally:
            raw = b"".join(chunks)
            self.requests.append((scope["method"], scope["path"], json.loads(raw) if raw else None))

    def paths(self) -> list[str]:
        return [f"{method} {path.removeprefix('/api/paas/v4')}" for method, path, _ in self.requests]

    def bodies(self, path: str) -> list[Any]:
        return [body for _, p, body in self.requests if p.endswith(path)]


@pytest.fixture
def clock():
    clock = FakeClock()
    with fake_task_time(clock):
        yield clock


def emulator(clock: FakeClock, **config: Any) -> Recorder:
    return Recorder(
        create_app(EmulatorConfig(api_keys=frozenset({KEY}), clock=clock, task_seconds=TASK_SECONDS, **config))
    )


@pytest.fixture
def app(clock):
    recorder = emulator(clock)
    with connections.configured(transport_factory=connections.InProcessTransports(recorder)):
        yield recorder


@pytest.fixture(scope="module")
def host():
    return Host(entry_points=False)


def run(host: Host, action: str, inputs: dict[str, Any], base_url: str = LOCAL, **kwargs: Any) -> Any:
    return host.run_action("zhipu", action, inputs, {"token": KEY, "baseUrl": base_url}, **kwargs)


def arun(host: Host, action: str, inputs: dict[str, Any], base_url: str = LOCAL, **kwargs: Any) -> Any:
    return asyncio.run(host.arun_action("zhipu", action, inputs, {"token": KEY, "baseUrl": base_url}, **kwargs))


def download(app: Recorder, url: str) -> httpx.Response:
    async def get() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app.app)) as client:
            return await client.get(url)

    return asyncio.run(get())


# --- waiting for the result ------------------------------------------------------------------


@pytest.mark.parametrize("runner", [run, arun], ids=["sync", "async"])
def test_generate_video_waits_and_returns_the_video_and_cover(host, app, clock, runner):
    result = runner(host, "generateVideo", {"model": "cogvideox-3", "prompt": "a paper boat in the rain"})
    assert result["status"] == "SUCCESS" and result["model"] == "cogvideox-3"
    assert sorted(result) == ["model", "requestId", "status", "taskId", "videos"]
    assert clock.sleeps == [1, 2, 4, 8]  # 1 s, then doubling; the task is done at 10 s
    assert app.paths() == ["POST /videos/generations"] + [f"GET /async-result/{result['taskId']}"] * 4
    video = download(app, result["videos"][0]["url"])
    assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"
    assert video.content[4:8] == b"ftyp"
    cover = download(app, result["videos"][0]["coverImageUrl"])
    assert cover.headers["content-type"] == "image/png"


def test_the_wait_never_exceeds_the_poll_interval(host, app, clock):
    run(host, "generateVideo", {"model": "cogvideox-3", "prompt": "a boat", "pollInterval": 3})
    assert clock.sleeps == [1, 2, 3, 3, 3]


@pytest.mark.parametrize("runner", [run, arun], ids=["sync", "async"])
def test_create_image_async_waits_and_returns_the_image(host, app, clock, runner):
    result = runner(host, "createImageAsync", {"prompt": "a lighthouse at dawn", "size": "1568x1056"})
    assert result["status"] == "SUCCESS" and result["model"] == "glm-image"
    image = download(app, result["images"][0]["url"])
    assert image.status_code == 200 and image.content.startswith(b"\x89PNG")
    assert app.bodies("/async/images/generations") == [
        {"model": "glm-image", "prompt": "a lighthouse at dawn", "size": "1568x1056"}
    ]


def test_progress_is_reported_to_a_streaming_caller(host, app, clock):
    lines: list[str] = []
    context = ActionContext("zhipu", "generateVideo", on_partial=lines.append)
    result = run(host, "generateVideo", {"model": "cogvideox-3", "prompt": "a boat"}, context=context)
    task = result["taskId"]
    assert lines == [
        f"task {task}: submitted\n",
        f"task {task}: PROCESSING after 1 s\n",
        f"task {task}: PROCESSING after 3 s\n",
        f"task {task}: PROCESSING after 7 s\n",
        f"task {task}: SUCCESS after 15 s (4 checks)\n",
    ]


# --- the task at once, collected later ----------------------------------------------------------


@pytest.mark.parametrize("runner", [run, arun], ids=["sync", "async"])
def test_the_task_at_once_then_get_task_result(host, app, clock, runner):
    task = runner(host, "generateVideo", {"model": "cogvideox-3", "prompt": "a boat", "waitForResult": False})
    assert task["status"] == "PROCESSING" and sorted(task) == ["model", "requestId", "status", "taskId"]
    assert clock.sleeps == []
    now = runner(host, "getTaskResult", {"taskId": task["taskId"]})
    assert now == {"taskId": task["taskId"], "status": "PROCESSING", "requestId": task["requestId"]}
    clock.now += TASK_SECONDS
    done = runner(host, "getTaskResult", {"taskId": task["taskId"]})
    assert done["status"] == "SUCCESS" and done["videos"][0]["url"].endswith(".mp4")
    assert clock.sleeps == []


def test_get_task_result_can_wait_and_looks_first(host, app, clock):
    task = run(host, "createImageAsync", {"prompt": "a fox", "waitForResult": False})
    clock.now += 4
    done = run(host, "getTaskResult", {"taskId": task["taskId"], "waitForResult": True})
    assert done["status"] == "SUCCESS" and done["images"][0]["url"].endswith(".png")
    assert clock.sleeps == [1, 2, 4]  # a look at once (4 s in), then 5, 7 and 11 s


def test_get_task_result_refuses_an_id_that_is_not_one(host, app, clock):
    with pytest.raises(InputValidationError, match="taskId: Task ID must be the id"):
        run(host, "getTaskResult", {"taskId": "../models"})
    assert app.requests == []


# --- faults: failed, stuck, lost -------------------------------------------------------------


def test_a_failed_task_is_an_error_when_waited_for_and_a_status_when_looked_at(host, app, clock):
    with pytest.raises(ZhipuError) as caught:
        run(host, "generateVideo", {"model": "cogvideox-3", "prompt": "a boat [[fault:task_fail]]"})
    assert "ended FAIL" in str(caught.value)
    task = run(
        host, "generateVideo", {"model": "cogvideox-3", "prompt": "a ship [[fault:task_fail]]", "waitForResult": False}
    )
    clock.now += TASK_SECONDS
    assert run(host, "getTaskResult", {"taskId": task["taskId"]})["status"] == "FAIL"


def test_a_stuck_task_times_out_naming_its_id_for_later(host, app, clock):
    with pytest.raises(ZhipuTimeoutError) as caught:
        run(host, "generateVideo", {"model": "cogvideox-3", "prompt": "a boat [[fault:task_stuck]]", "timeout": 30})
    task_id = app.paths()[1].rsplit("/", 1)[1]
    message = str(caught.value)
    assert f"task {task_id} was still PROCESSING after 30 s" in message and "Get task result" in message
    assert sum(clock.sleeps) == 30 and clock.sleeps == [1, 2, 4, 8, 15]
    assert caught.value.retryable is False


@pytest.mark.parametrize("runner", [run, arun], ids=["sync", "async"])
def test_a_lost_task_is_explained(host, app, clock, runner):
    with pytest.raises(InvalidRequestError) as caught:
        runner(host, "createImageAsync", {"prompt": "a fox [[fault:task_lost]]"})
    assert caught.value.code == "1233" and "knows no task" in str(caught.value)
    assert clock.sleeps == [1]


# --- cancellation ---------------------------------------------------------------------------


def test_cancelling_during_a_wait_stops_before_the_next_check(host, app, clock):
    cancel = threading.Event()
    clock.on_sleep = lambda n, context: cancel.set() if n == 2 else None
    context = ActionContext("zhipu", "generateVideo", cancel_event=cancel)
    with pytest.raises(ActionCancelledError):
        run(host, "generateVideo", {"model": "cogvideox-3", "prompt": "a boat"}, context=context)
    assert len(clock.sleeps) == 2
    assert [p.split(" ")[0] for p in app.paths()] == ["POST", "GET"]  # one check, none after the cancel


def test_an_asyncio_cancellation_ends_the_async_wait(host, app, clock):
    async def scenario() -> tuple[list[float], int]:
        started = asyncio.Event()

        async def blocking_sleep(seconds: float, context: Any) -> None:
            clock.sleeps.append(seconds)
            started.set()
            await asyncio.Event().wait()  # only a cancellation ends it

        with fake_task_time(clock):
            from zhipu_connector.zhipu import long_task

            timing = long_task.Timing(clock=clock, sleep=clock.sleep, asleep=blocking_sleep)
            with long_task.timing_configured(timing):
                call = asyncio.create_task(
                    host.arun_action(
                        "zhipu",
                        "generateVideo",
                        {"model": "cogvideox-3", "prompt": "a boat"},
                        {"token": KEY, "baseUrl": LOCAL},
                    )
                )
                await started.wait()
                call.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await call
        return clock.sleeps, len(app.requests)

    sleeps, requests = asyncio.run(scenario())
    assert sleeps == [1] and requests == 1


def test_the_real_waits_end_at_once_when_cancelled(host, app):
    """Without a fake clock: a cancel event set from another thread ends a 20 s wait at once."""
    from zhipu_connector.zhipu import long_task

    cancel = threading.Event()
    context = ActionContext("zhipu", "generateVideo", cancel_event=cancel)
    timer = threading.Timer(0.2, cancel.set)
    with long_task.timing_configured(long_task.Timing()):
        timer.start()
        with pytest.raises(ActionCancelledError):
            run(
                host,
                "generateVideo",
                {"model": "cogvideox-3", "prompt": "a boat [[fault:task_stuck]]", "pollInterval": 20},
                context=context,
            )
    timer.join()


# --- per-model rules, before anything is sent -----------------------------------------------


@pytest.mark.parametrize(
    ("inputs", "problems"),
    [
        ({"model": "cogvideox-3"}, ["prompt: Give a prompt, an image or both"]),
        ({"model": "cogvideox-3", "prompt": "x", "duration": 4}, ["duration: cogvideox-3 takes 5 or 10, not 4"]),
        ({"model": "cogvideox-3", "prompt": "x", "style": "anime"}, ["style: cogvideox-3 does not take this setting"]),
        (
            {"model": "cogvideox-flash", "prompt": "x", "duration": 5},
            ["duration: cogvideox-flash does not take this setting"],
        ),
        ({"model": "cogvideox-2", "prompt": "x", "size": "1280x720"}, ["size: cogvideox-2 takes 720x480 or 1024x1024"]),
        (
            {"model": "cogvideox-2", "imageUrl": "https://x/a.png", "lastFrameUrl": "https://x/b.png"},
            ["lastFrameUrl: cogvideox-2 does not take this image; it takes imageUrl"],
        ),
        (
            {"model": "cogvideox-3", "lastFrameUrl": "https://x/b.png"},
            ["lastFrameUrl: A last frame needs a first frame"],
        ),
        (
            {"model": "viduq1-text", "imageUrl": "https://x/a.png"},
            ["imageUrl: viduq1-text does not take this image", "prompt: viduq1-text makes a video from a prompt alone"],
        ),
        ({"model": "vidu2-image", "prompt": "x"}, ["imageUrl: vidu2-image makes a video from an image"]),
        (
            {"model": "vidu2-reference", "prompt": "x"},
            ["referenceImageUrls: vidu2-reference makes a video from an image"],
        ),
        (
            {"model": "viduq1-image", "imageUrl": "https://x/a.png", "withAudio": True},
            ["withAudio: viduq1-image makes 5-second videos"],
        ),
        (
            {"model": "vidu2-image", "imageUrl": "https://x/a.png", "duration": 5},
            ["duration: vidu2-image takes 4, not 5"],
        ),
        (
            {"model": "cogvideox-3", "imageUrl": "not an image at all!"},
            ["imageUrl: Neither an http(s) URL nor valid base64 data"],
        ),
        ({"model": "cogvideox-3", "prompt": "x" * 513}, ["prompt: "]),
    ],
)
def test_a_setting_the_model_does_not_take_is_refused_naming_it(host, app, clock, inputs, problems):
    with pytest.raises(InputValidationError) as caught:
        run(host, "generateVideo", inputs)
    text = str(caught.value)
    for problem in problems:
        assert f"  - {problem}" in text
    assert app.requests == []


def test_a_big_base64_image_is_refused_for_cogvideox(host, app, clock):
    import base64

    big = base64.b64encode(b"\0" * (5 * 1024 * 1024 + 1)).decode()
    with pytest.raises(InputValidationError, match=r"imageUrl: The image is 5242881 bytes; at most 5242880 \(5 MB\)"):
        run(host, "generateVideo", {"model": "cogvideox-3", "imageUrl": big})
    assert app.requests == []


@pytest.mark.parametrize(
    ("inputs", "image_url"),
    [
        ({"model": "cogvideox-3", "imageUrl": "https://x/a.png"}, "https://x/a.png"),
        (
            {"model": "cogvideox-3", "imageUrl": "https://x/a.png", "lastFrameUrl": "https://x/b.png"},
            ["https://x/a.png", "https://x/b.png"],
        ),
        ({"model": "viduq1-start-end", "imageUrl": "https://x/a.png"}, ["https://x/a.png"]),
        (
            {"model": "vidu2-reference", "referenceImageUrls": ["https://x/a.png", "https://x/b.png"]},
            ["https://x/a.png", "https://x/b.png"],
        ),
        (
            {"model": "vidu2-image", "imageUrl": "data:image/png;base64,iVBORw0KGgo="},
            "data:image/png;base64,iVBORw0KGgo=",
        ),
    ],
)
def test_images_are_sent_as_each_model_takes_them(host, app, clock, inputs, image_url):
    result = run(host, "generateVideo", {**inputs, "waitForResult": False})
    assert result["status"] == "PROCESSING"
    (body,) = app.bodies("/videos/generations")
    assert body["image_url"] == image_url


def test_every_setting_reaches_the_body_under_its_api_name_and_nothing_unset_is_sent(host, app, clock):
    inputs = {
        "model": "cogvideox-3",
        "prompt": "a boat",
        "quality": "quality",
        "withAudio": True,
        "watermarkEnabled": False,
        "size": "1920x1080",
        "fps": 60,
        "duration": 10,
        "user": "user-123456",
        "requestId": "video-request-1",
        "waitForResult": False,
    }
    result = run(host, "generateVideo", inputs)
    assert result["requestId"] == "video-request-1"
    assert app.bodies("/videos/generations") == [
        {
            "model": "cogvideox-3",
            "prompt": "a boat",
            "quality": "quality",
            "with_audio": True,
            "watermark_enabled": False,
            "size": "1920x1080",
            "fps": 60,
            "duration": 10,
            "user_id": "user-123456",
            "request_id": "video-request-1",
        }
    ]


def test_vidu_text_settings_are_sent(host, app, clock):
    inputs = {
        "model": "viduq1-text",
        "prompt": "a cat",
        "style": "anime",
        "aspectRatio": "9:16",
        "movementAmplitude": "small",
    }
    assert run(host, "generateVideo", inputs)["status"] == "SUCCESS"
    (body,) = app.bodies("/videos/generations")
    assert (body["style"], body["aspect_ratio"], body["movement_amplitude"]) == ("anime", "9:16", "small")


@pytest.mark.parametrize(
    ("inputs", "problem"),
    [
        ({"prompt": "x", "quality": "standard"}, r"quality: Quality: 'standard' is not one of \['hd'\]"),
        ({"prompt": "x", "size": "1000x1000"}, "size: 1000x1000 does not fit glm-image"),
        ({"prompt": "   "}, "prompt: Prompt is blank"),
    ],
)
def test_create_image_async_rules(host, app, clock, inputs, problem):
    with pytest.raises(InputValidationError, match=problem):
        run(host, "createImageAsync", inputs)
    assert app.requests == []


# --- platforms ---------------------------------------------------------------------------------


def test_a_mainland_only_video_model_is_refused_on_the_international_platform(host, app, clock):
    with pytest.raises(InputValidationError) as caught:
        run(host, "generateVideo", {"model": "cogvideox-flash", "prompt": "x"}, INTERNATIONAL)
    assert "model: 'cogvideox-flash' is not served with baseUrl International platform" in str(caught.value)
    with pytest.raises(InputValidationError) as caught:
        run(host, "generateVideo", {"model": "cogvideox-2", "prompt": "x"}, "international")
    assert "model: 'cogvideox-2' is not served by the international platform (api.z.ai)" in str(caught.value)
    assert app.requests == []


def test_first_and_last_frame_on_the_international_platform_is_speed_only(host, app, clock):
    inputs = {
        "model": "cogvideox-3",
        "imageUrl": "https://x/a.png",
        "lastFrameUrl": "https://x/b.png",
        "quality": "quality",
    }
    with pytest.raises(InputValidationError, match="quality: the international platform makes first-and-last-frame"):
        run(host, "generateVideo", inputs, INTERNATIONAL)
    assert app.requests == []


def test_video_and_async_image_work_on_the_international_platform(host, clock):
    recorder = emulator(clock, platform="international")
    with connections.configured(transport_factory=connections.InProcessTransports(recorder)):
        assert run(host, "generateVideo", {"model": "cogvideox-3", "prompt": "x"}, INTERNATIONAL)["status"] == "SUCCESS"
        assert run(host, "createImageAsync", {"prompt": "x"}, INTERNATIONAL)["status"] == "SUCCESS"
