"""Whether any worker runs operations now (from the pollers Temporal sees on the task queue),
and a workflow's answer awaited no longer than a request may wait."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from typing import Final, TypeVar

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from api.problems import ProblemError

# An idle worker's long poll is renewed about once a minute; a poller unseen for longer is gone.
POLLER_GONE_AFTER: Final = timedelta(seconds=90)
# Asked at most this often: a burst of requests costs Temporal one call.
ANSWER_KEPT_SECONDS: Final = 2.0
ASK_TIMEOUT_SECONDS: Final = 3.0
RETRY_AFTER_SECONDS: Final = 5

logger = logging.getLogger(__name__)

T = TypeVar("T")


class WorkerPresence:
    def __init__(self, client: Client, *, task_queue: str) -> None:
        self._client = client
        self._task_queue = task_queue
        self._lock = asyncio.Lock()
        self._answer: tuple[float, bool] | None = None

    async def polling(self) -> bool:
        async with self._lock:
            if (
                self._answer is not None
                and time.monotonic() - self._answer[0] < ANSWER_KEPT_SECONDS
            ):
                return self._answer[1]
            present = await self._ask()
            self._answer = (time.monotonic(), present)
            return present

    async def _ask(self) -> bool:
        try:
            request = DescribeTaskQueueRequest(
                namespace=self._client.namespace,
                task_queue=TaskQueue(name=self._task_queue),
                task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
            )
            described = await asyncio.wait_for(
                self._client.workflow_service.describe_task_queue(request),
                timeout=ASK_TIMEOUT_SECONDS,
            )
        except RPCError as error:
            if error.status == RPCStatusCode.UNIMPLEMENTED:
                # A server that cannot tell (the time-skipping test server): the answer timeout
                # of each request is left to catch an absent worker.
                return True
            logger.warning("cannot ask Temporal for the task queue's pollers", exc_info=True)
            return False
        except Exception:  # unreachable or refusing: no worker can be counted on either way
            logger.warning("cannot ask Temporal for the task queue's pollers", exc_info=True)
            return False
        now = datetime.now(UTC)
        return any(
            now - poller.last_access_time.ToDatetime(tzinfo=UTC) < POLLER_GONE_AFTER
            for poller in described.pollers
        )

    async def require(self) -> None:
        """503 at once when no worker polls: the request would wait for nobody."""
        if not await self.polling():
            raise unavailable(NO_WORKER)


NO_WORKER: Final = "No worker is running operations now; nothing was changed."
# A worker of the release before took the action, which it has no handler for.
NOT_YET_KNOWN: Final = (
    "The workers do not take this action yet (a new release is being rolled out); "
    "nothing was changed."
)


def unavailable(detail: str) -> ProblemError:
    return ProblemError(
        503,
        "Service Unavailable",
        f"{detail} Try again in a few seconds.",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


async def answer_in_time(call: Awaitable[T], *, seconds: float) -> T:
    """The workflow's answer, or 503 once it is overdue: a request never hangs on a worker."""
    deadline = asyncio.timeout(seconds)
    try:
        async with deadline:
            return await call
    except Exception:
        # Cut short, an Update's call raises the SDK's own WorkflowUpdateRPCTimeoutOrCancelledError
        # instead of the cancellation, which `asyncio.timeout` then cannot turn into TimeoutError.
        if not deadline.expired():
            raise
        raise unavailable(
            f"The operation's workflow did not answer within {seconds:g} s; the request may "
            "still take effect. Retry it with the same Idempotency-Key: it applies once."
        ) from None
