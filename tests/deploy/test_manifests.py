"""deploy/: the compose file against the Compose specification's JSON schema, every Kubernetes
manifest against the Kubernetes schemas, both offline, and what an operator relies on in them.

The Compose schema is the copy check-jsonschema (pinned in uv.lock) vendors from the Compose
specification; the Kubernetes schemas come with kubernetes-validate (pinned too).
"""

from __future__ import annotations

import json
import re
from importlib.resources import files
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema  # type: ignore[import-untyped]
import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml  # type: ignore[import-untyped]

from api.auth import jwks_client
from api.throttle import Throttle
from cdtrack.settings import Settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
KUBERNETES = DEPLOY / "kubernetes"
KUBERNETES_VERSION = "1.31.0"


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return loaded


def compose_schema() -> dict[str, Any]:
    vendored = files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
    loaded: dict[str, Any] = json.loads(vendored.read_text())
    return loaded


def test_the_compose_file_follows_the_compose_specification() -> None:
    schema = compose_schema()
    validator = jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    problems = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(compose())]
    assert problems == []


def test_the_schema_check_catches_a_wrong_compose_file() -> None:
    broken = compose()
    broken["services"]["api"]["depends_on"]["worker"]["condition"] = "service_ready"
    assert not jsonschema.Draft202012Validator(compose_schema()).is_valid(broken)


def readme_services() -> set[str]:
    """The services the README's table of services names (first column, in backticks)."""
    text = (DEPLOY / "README.md").read_text()
    section = text.split("## Services", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([a-z0-9-]+)` \|", section, flags=re.MULTILINE))


def test_every_service_the_readme_names_is_in_compose_and_the_other_way_round() -> None:
    named = readme_services()
    assert {"postgresql", "temporal", "temporal-ui", "worker", "api", "codec-server"} <= named
    assert named == set(compose()["services"])


def test_nothing_starts_before_what_it_needs_and_everything_long_running_is_checked() -> None:
    services = compose()["services"]
    for name, service in services.items():
        for needed, condition in service.get("depends_on", {}).items():
            assert isinstance(condition, dict), f"{name} depends on {needed} without a condition"
            expected = (
                "service_completed_successfully"
                if services[needed].get("restart") in ("no", "on-failure")
                else "service_healthy"
            )
            assert condition["condition"] == expected, (name, needed)
            if expected == "service_healthy":
                assert "healthcheck" in services[needed], needed
    assert services["worker"]["depends_on"]["migrate"]["condition"] == (
        "service_completed_successfully"
    )
    assert services["api"]["ports"]
    assert services["temporal-ui"]["ports"]


def test_no_password_is_written_in_deploy_and_every_variable_is_in_the_example() -> None:
    text = (DEPLOY / "compose.yaml").read_text()
    used = set(re.findall(r"\$\{([A-Z0-9_]+)", text))
    example = (DEPLOY / ".env.example").read_text()
    offered = set(re.findall(r"^([A-Z0-9_]+)=", example, flags=re.MULTILINE))
    assert used - offered == set()
    assert re.findall(r"^[A-Z0-9_]*(?:PASSWORD|KEY|KEYS|SECRET)=(.+)$", example, re.M) == []
    init = (DEPLOY / "postgres-init.sql").read_text()
    assert "PASSWORD '" not in init.upper()
    assert ":'owner_password'" in init
    assert ":'app_password'" in init


def manifests() -> list[tuple[str, dict[str, Any]]]:
    kustomization = yaml.safe_load((KUBERNETES / "kustomization.yaml").read_text())
    found = []
    for resource in kustomization["resources"]:
        for document in yaml.safe_load_all((KUBERNETES / resource).read_text()):
            name = f"{resource}: {document['kind']}/{document['metadata']['name']}"
            found.append((name, document))
    return found


@pytest.mark.parametrize(("where", "manifest"), manifests(), ids=[w for w, _ in manifests()])
def test_every_kubernetes_manifest_follows_the_kubernetes_schema(
    where: str, manifest: dict[str, Any]
) -> None:
    kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)


def test_the_schema_check_catches_a_wrong_manifest() -> None:
    _, deployment = next(m for m in manifests() if m[1]["kind"] == "Deployment")
    deployment["spec"]["replicas"] = "three"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


def _pods() -> list[tuple[str, dict[str, Any]]]:
    return [
        (where, manifest["spec"]["template"]["spec"])
        for where, manifest in manifests()
        if manifest["kind"] in ("Deployment", "Job")
    ]


def test_every_pod_runs_unprivileged_read_only_bounded_and_probed() -> None:
    kinds = {manifest["kind"] for _, manifest in manifests()}
    assert {"Deployment", "Service", "Ingress", "Job", "ConfigMap", "PodDisruptionBudget"} <= kinds
    for where, pod in _pods():
        assert pod["securityContext"]["runAsNonRoot"] is True, where
        for container in pod.get("initContainers", []):
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, where
            assert context["allowPrivilegeEscalation"] is False, where
            assert {"cpu", "memory"} <= set(container["resources"]["limits"]), where
        for container in pod["containers"]:
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, where
            assert context["allowPrivilegeEscalation"] is False, where
            assert {"cpu", "memory"} <= set(container["resources"]["requests"]), where
            assert {"cpu", "memory"} <= set(container["resources"]["limits"]), where
            if "Job" not in where:
                assert "readinessProbe" in container, where
                assert "livenessProbe" in container, where


def test_images_are_pinned_and_secrets_are_only_referenced() -> None:
    kustomization = yaml.safe_load((KUBERNETES / "kustomization.yaml").read_text())
    tags = {image["name"]: image["newTag"] for image in kustomization["images"]}
    for where, pod in _pods():
        for container in pod["containers"]:
            image = container["image"]
            tag = tags.get(image) or image.rpartition(":")[2]
            assert re.fullmatch(r"\d+\.\d+\.\d+", tag), f"{where}: {image} is not pinned"
    assert all(manifest["kind"] != "Secret" for _, manifest in manifests())


def test_the_workers_are_several_and_a_disruption_keeps_most_of_them() -> None:
    found = dict(manifests())
    worker = found["worker.yaml: Deployment/cdtrack-worker"]
    budget = found["worker.yaml: PodDisruptionBudget/cdtrack-worker"]
    assert worker["spec"]["replicas"] >= 2
    assert budget["spec"]["selector"] == worker["spec"]["selector"]
    assert 1 <= budget["spec"]["minAvailable"] < worker["spec"]["replicas"]


def test_the_optional_settings_compose_leaves_empty_are_settings_not_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Compose passes each optional variable as `${VAR:-}`: left out of .env, it is empty, and
    the process starts on that setting's default (an empty identity provider's key-set address
    used to stop the API and the codec server at start)."""
    environment = compose()["x-cdtrack-env"]
    empty = [name for name, value in environment.items() if re.fullmatch(r"\$\{\w+:-\}", value)]
    assert {"CDTRACK_OIDC_ISSUER", "CDTRACK_OIDC_JWKS_URL", "CDTRACK_OTLP_ENDPOINT"} <= set(empty)
    for name in empty:
        monkeypatch.setenv(name, "")
    settings = Settings()
    assert jwks_client(settings) is None
    for name in empty:
        field = name.removeprefix("CDTRACK_").lower()
        assert getattr(settings, field) == Settings.model_fields[field].default, name


def test_the_throttle_store_the_manifests_name_is_deployed_and_usable() -> None:
    """Several API replicas share their throttles in the Redis the manifests deploy; the API
    builds its throttle on it at start, so the store's client must be installed."""
    found = dict(manifests())
    url = found["config.yaml: ConfigMap/cdtrack-config"]["data"]["CDTRACK_RATE_LIMIT_STORAGE"]
    assert f"redis.yaml: Service/{urlsplit(url).hostname}" in found
    settings = Settings(rate_limit_storage=url)
    Throttle(settings)  # builds its storage: refused if the store's client is missing


def _routed(ingress: dict[str, Any], path: str) -> bool:
    """Whether one of the Ingress's Prefix or Exact paths takes `path` (Kubernetes' matching)."""
    for rule in ingress["spec"]["rules"]:
        for route in rule["http"]["paths"]:
            given, kind = route["path"], route["pathType"]
            if kind == "Exact" and path == given:
                return True
            if kind == "Prefix" and (given == "/" or path == given or path.startswith(given + "/")):
                return True
    return False


def test_the_ingress_routes_the_console_its_assets_and_every_notice_link() -> None:
    ingress = dict(manifests())["api.yaml: Ingress/cdtrack-api"]
    paths = [
        "/",
        "/sign-in",
        "/o/op-1/handover",
        "/o/op-1/report",
        "/static/console.css",
        "/docs",
        "/redoc",
        "/openapi.json",
        "/api/v1/operations",
        "/health",
        "/admin/users",
    ]
    assert [path for path in paths if not _routed(ingress, path)] == []


def test_nothing_of_cdtrack_starts_before_the_migrations_have_run() -> None:
    """The migration Job and the Deployments are applied together: each pod of cdtrack's own
    image waits in an init container until the schema is up to date."""
    for where, pod in _pods():
        images = {container["image"] for container in pod["containers"]}
        if "Job" in where or images != {"cdtrack"}:
            continue
        waits = [c["command"] for c in pod.get("initContainers", []) if c["image"] == "cdtrack"]
        assert any(command[:3] == ["cdtrack", "migrate", "--wait"] for command in waits), where
