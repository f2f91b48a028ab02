"""The image: its system packages are what WeasyPrint opens to render a debrief report.

No Docker engine runs here, so the check is made on this Debian machine of the image's release:
a report is rendered in a process of its own, the shared libraries it mapped are read from
/proc/self/maps and traced to their Debian packages, and each must be in the Dockerfile's apt
list or in what those packages (or the base image) pull in. Removing one from the Dockerfile
fails here, as it would fail a report in production.
"""

from __future__ import annotations

import functools
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"

# What python:3.11-slim-bookworm carries besides Debian's essential packages: apt (from
# debian:bookworm-slim), the interpreter's own runtime libraries and what its Dockerfile installs.
BASE_IMAGE_PACKAGES = frozenset(
    {
        "apt",
        "ca-certificates",
        "netbase",
        "tzdata",
        "libbz2-1.0",
        "libexpat1",
        "libffi8",
        "liblzma5",
        "libncursesw6",
        "libreadline8",
        "libsqlite3-0",
        "libssl3",
        "libtinfo6",
        "libuuid1",
        "zlib1g",
    }
)

RENDER_AND_LIST_MAPS = """
from workflows.assessment import assess
from activities.report.render import render_report_pdf
from tests.activities.known_operation import RECOMMENDED, known_operation

state = known_operation().after_late_input
last = state.timeline[-1].seq
assessment = assess(state, version=2, at_seq=last, reason="image", now=RECOMMENDED)
for lang in ("en", "ru"):
    assert render_report_pdf(assessment, lang=lang).startswith(b"%PDF-")
with open("/proc/self/maps") as maps:
    for line in maps:
        fields = line.split()
        if len(fields) >= 6 and ".so" in fields[5]:
            print(fields[5])
"""


def apt_packages(dockerfile: str) -> list[str]:
    """The packages of every `apt-get install` in the Dockerfile."""
    joined = dockerfile.replace("\\\n", " ")
    packages: list[str] = []
    for command in re.findall(r"apt-get install ([^&\n]+)", joined):
        packages += [word for word in command.split() if not word.startswith("-")]
    return packages


def _dpkg(*args: str) -> str:
    return subprocess.run(["dpkg-query", *args], capture_output=True, text=True).stdout


def owners(paths: set[str]) -> set[str]:
    """The Debian packages the files belong to, in one `dpkg -S` (usrmerge: /usr/lib is also
    known as /lib); a path no package owns (the project's own wheels) is left out."""
    candidates = sorted(paths | {re.sub(r"^/usr/lib/", "/lib/", path) for path in paths})
    found = subprocess.run(["dpkg", "-S", *candidates], capture_output=True, text=True)
    owned: set[str] = set()
    for line in found.stdout.splitlines():
        packages, _, _ = line.partition(": ")
        owned |= {package.split(":")[0].strip() for package in packages.split(",")}
    return owned


@functools.cache
def _depends(package: str) -> frozenset[str]:
    fields = _dpkg("-W", "-f=${Pre-Depends}, ${Depends}", package)
    named = set()
    for alternative in fields.split(","):
        for choice in alternative.split("|"):
            name = choice.strip().split(" ")[0].split(":")[0]
            if name:
                named.add(name)
    return frozenset(named)


def closure(packages: set[str]) -> set[str]:
    seen: set[str] = set()
    todo = list(packages)
    while todo:
        package = todo.pop()
        if package not in seen:
            seen.add(package)
            todo.extend(_depends(package) - seen)
    return seen


def essential() -> set[str]:
    listed = _dpkg("-W", "-f=${Package} ${Essential}\n")
    return {line.split()[0] for line in listed.splitlines() if line.endswith(" yes")}


@pytest.fixture(scope="module")
def mapped_packages() -> set[str]:
    rendered = subprocess.run(
        [sys.executable, "-c", RENDER_AND_LIST_MAPS],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert rendered.returncode == 0, rendered.stderr
    return owners(set(rendered.stdout.split()))


def test_the_dockerfile_installs_every_system_library_a_debrief_report_opens(
    mapped_packages: set[str],
) -> None:
    listed = set(apt_packages(DOCKERFILE.read_text()))
    provided = closure(listed) | closure(essential() | BASE_IMAGE_PACKAGES)
    # The rendering did open Pango and HarfBuzz: the check is about something.
    assert {"libpango-1.0-0", "libharfbuzz0b"} <= mapped_packages
    assert mapped_packages - provided == set()


def test_the_image_has_a_font_with_cyrillic() -> None:
    cyrillic = []
    for package in apt_packages(DOCKERFILE.read_text()):
        files = _dpkg("-L", package).split()
        for font in [f for f in files if f.endswith((".ttf", ".otf"))]:
            langs = subprocess.run(
                ["fc-query", "--format=%{lang}\n", font], capture_output=True, text=True
            ).stdout
            if "ru" in re.split(r"[|\n]", langs):
                cyrillic.append(font)
    assert cyrillic, "no font of the Dockerfile's packages covers Russian"


def test_the_image_is_pinned_runs_unprivileged_and_says_how_it_runs() -> None:
    text = DOCKERFILE.read_text()
    bases = re.findall(r"^FROM (\S+)", text, flags=re.MULTILINE)
    assert bases
    assert all(re.fullmatch(r"python:3\.11\.\d+-slim-bookworm", b) for b in bases)
    assert re.search(r"^USER (?!root|0\b)\S+", text, flags=re.MULTILINE)
    for instruction in ("EXPOSE", "HEALTHCHECK", "CMD"):
        assert re.search(rf"^{instruction} ", text, flags=re.MULTILINE), instruction
    assert "--no-dev" in text


def test_the_image_holds_every_package_of_the_wheel() -> None:
    import tomllib

    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["hatch"]["build"][
        "targets"
    ]["wheel"]["packages"]
    copied = set(re.findall(r"^COPY (\w+) \1$", DOCKERFILE.read_text(), flags=re.MULTILINE))
    let_through = set(re.findall(r"^!(\w+)/$", (ROOT / ".dockerignore").read_text(), re.MULTILINE))
    assert set(packages) <= copied, "a package the image would miss"
    assert set(packages) <= let_through, "a package .dockerignore keeps out of the build"
