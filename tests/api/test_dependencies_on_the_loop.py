"""Every dependency of every route runs on the event loop: none is a plain function.

FastAPI runs a plain `def` dependency in its thread pool, one hop per dependency per request;
handing out what the app's lifespan built, or checking a header, costs more in that hop than in
the check. Work that blocks (the read model) goes through `ReadModel`, which chooses its thread.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from tests.temporal_env import settings_for_tests
from web.app import create_app


def _is_coroutine(call: Any) -> bool:
    # A class instance (FastAPI's security schemes) answers through an async __call__.
    return inspect.iscoroutinefunction(call) or inspect.iscoroutinefunction(type(call).__call__)


def _routes(router: Any, seen: set[int]) -> Iterator[APIRoute]:
    for route in getattr(router, "routes", None) or []:
        if id(route) in seen:
            continue
        seen.add(id(route))
        if isinstance(route, APIRoute):
            yield route
        # Included routers and mounted apps hold routes of their own.
        yield from _routes(route, seen)
        for attribute in ("original_router", "router", "app"):
            inner = getattr(route, attribute, None)
            if inner is not None and inner is not route:
                yield from _routes(inner, seen)


def _plain_dependencies(dependant: Dependant) -> Iterator[str]:
    for sub in dependant.dependencies:
        # FastAPI's own security classes are callables answering on the loop.
        if sub.call is not None and not _is_coroutine(sub.call):
            yield getattr(sub.call, "__qualname__", repr(sub.call))
        yield from _plain_dependencies(sub)


def test_no_route_waits_for_a_thread_to_resolve_a_dependency(tmp_path: Path) -> None:
    app = create_app(settings_for_tests(data_dir=tmp_path))
    routes = list(_routes(app.router, set()))
    assert len(routes) > 50, "the console's and the API's routes are all walked"
    plain = {
        f"{sorted(route.methods or {'?'})[0]} {route.path}: {name}"
        for route in routes
        for name in _plain_dependencies(route.dependant)
    }
    assert plain == set()
