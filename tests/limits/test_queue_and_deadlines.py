"""Time a request spends waiting for the account's limit is not counted against its deadline.

Under `--concurrency auto` many rows queue behind a small account limit. Were the wait counted,
a request could pass its attempt deadline while its answer — already made and billed — is
being read, and running the row again would pay for it twice.
"""

from __future__ import annotations

import threading
import time

import httpx

from zhipu_connector.limits import FixedLimit, LocalLimiter
from zhipu_connector.zhipu.client import ZhipuClient
from zhipu_connector.zhipu.config import Deadlines
from zhipu_connector.zhipu.limiting import LimitingTransport

ANSWER = {
    "id": "x",
    "request_id": "x",
    "created": 1,
    "model": "glm-4.6",
    "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "ok"}}],
}


def test_a_request_queued_longer_than_its_deadline_still_gets_its_answer() -> None:
    served: list[float] = []

    def slow(request: httpx.Request) -> httpx.Response:
        time.sleep(0.15)  # each answer well inside the 0.4 s deadline on its own
        served.append(time.monotonic())
        return httpx.Response(200, json=ANSWER)

    transport = LimitingTransport(httpx.MockTransport(slow), LocalLimiter(FixedLimit(1)))
    client = ZhipuClient("key.secret123", "http://zhipu.test/v4", transport=transport, deadline=Deadlines(attempt=0.4))
    results: list[object] = []

    def ask() -> None:
        try:
            results.append(client.chat({"model": "glm-4.6", "messages": [{"role": "user", "content": "hi"}]}))
        except Exception as error:  # collected: the assertion below names it
            results.append(error)

    threads = [threading.Thread(target=ask) for _ in range(5)]  # the last waits ~0.6 s for its turn
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    client.close()
    assert [type(result).__name__ for result in results] == ["dict"] * 5, results
    assert len(served) == 5  # none was sent (and billed) a second time after a deadline ran out in the queue
    assert served[-1] - began > 0.6  # the last one really did wait past the deadline's length
