"""Runs the HTTP API and the console under uvicorn inside an asyncio program, until told to stop."""

from __future__ import annotations

import asyncio

import uvicorn

from cdtrack.settings import Settings


async def serve_api(settings: Settings, stop: asyncio.Event) -> None:
    from web.app import create_app

    config = uvicorn.Config(
        create_app(settings),
        host=settings.api_host,
        port=settings.api_port,
        log_level="warning",
        log_config=None,
        access_log=False,
        proxy_headers=False,
    )
    # uvicorn briefly takes Ctrl-C itself; it stops, and the stack stops with it.
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
    server.should_exit = True
    await serving
    stopping.cancel()
