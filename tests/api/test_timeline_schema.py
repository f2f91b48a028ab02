"""The API's timeline schema documents each kind of event with its own detail."""

from __future__ import annotations

from fastapi.testclient import TestClient

from workflows.events import EventKind
from workflows.timeline import DETAILS


def test_the_timeline_schema_documents_each_kinds_detail(api: TestClient) -> None:
    schema = api.get("/openapi.json").json()
    components = schema["components"]["schemas"]
    events = components["TimelinePage"]["properties"]["events"]["items"]
    mapping = events["discriminator"]["mapping"]
    assert set(mapping) == {kind.value for kind in EventKind}
    for kind, ref in mapping.items():
        variant = components[ref.rsplit("/", 1)[-1]]
        assert variant["properties"]["kind"]["const"] == kind
        assert "kind" in variant["required"]
        detail = components[variant["properties"]["detail"]["$ref"].rsplit("/", 1)[-1]]
        assert set(detail.get("properties", {})) == set(DETAILS[EventKind(kind)].model_fields)
