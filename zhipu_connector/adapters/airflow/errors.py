"""The host's errors in Airflow's terms: which failures Airflow may retry, and which are final.

The error itself says whether sending the request again can help (`retryable`, set by each
connector's own classification: for Zhipu 1302, 5xx and timeouts are, no balance, an unknown
model or a plan limit are not). A transient error is raised as it is, so the task's `retries`
apply after the client's own. Anything else the host raises on purpose — invalid inputs, an
invalid connection, a final API error, a handler's bug — fails the task at once with
`AirflowFailException`: retrying cannot fix it and would only spend money and rate limit.
"""

from __future__ import annotations

from airflow.sdk.exceptions import AirflowFailException

from zhipu_connector.host.errors import ConnectorError
from zhipu_connector.host.secrets import scrub


def is_transient(error: BaseException) -> bool:
    """Whether Airflow's retries may help: the error's own `retryable` verdict, false when it has none."""
    return getattr(error, "retryable", False) is True


def airflow_error(error: ConnectorError, *, task: str) -> BaseException:
    """What to raise for `error`: the error itself when transient, else a final failure naming the task."""
    if is_transient(error):
        return error

    return AirflowFailException(scrub(f"{task}: {type(error).__name__}: {error} (final: not retried)"))
