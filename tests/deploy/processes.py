"""`cdtrack worker` as a deployment runs it: a process of its own, its log in a file."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import httpx

from tests.api.live import free_port


class WorkerProcess:
    """`cdtrack worker` in a process of its own, with its health endpoint on `port`."""

    def __init__(self, env: dict[str, str], *, log: Path) -> None:
        self.port = free_port()
        self.env = {**env, "CDTRACK_WORKER_HEALTH_PORT": str(self.port)}
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        cdtrack = Path(sys.executable).parent / "cdtrack"
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [str(cdtrack), "worker"], env=self.env, stdout=out, stderr=subprocess.STDOUT
            )

    async def ready(self, http: httpx.AsyncClient) -> bool:
        try:
            answer = await http.get(f"http://127.0.0.1:{self.port}/health/ready")
        except httpx.HTTPError:
            return False
        return answer.status_code == 200

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)
