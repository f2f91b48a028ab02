"""Fetch the console's npm-only assets (htmx and its SSE extension), pinned and hash-checked.

PyPI ships no maintained htmx, so `make install` runs `python -m web.vendor`: each tarball is
fetched from the npm registry at a pinned version, checked against the sha512 integrity the
registry published for it (a changed or tampered file is refused, nothing is written), and the
one file the console serves is kept under `web/static/vendor/`. Standard library only: it runs
before anything else is importable, and fetches nothing when the files are already there.
"""

from __future__ import annotations

import base64
import hashlib
import io
import sys
import tarfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Final

VENDOR: Final = Path(__file__).parent / "static" / "vendor"
REGISTRY: Final = "https://registry.npmjs.org"


@dataclass(frozen=True)
class NpmAsset:
    package: str
    version: str
    integrity: str  # as the registry's `dist.integrity`: "sha512-<base64>"
    member: str  # the file inside the tarball
    served_as: str  # its name under web/static/vendor/

    @property
    def tarball(self) -> str:
        name = self.package.rsplit("/", 1)[-1]
        return f"{REGISTRY}/{self.package}/-/{name}-{self.version}.tgz"


ASSETS: Final = (
    NpmAsset(
        package="htmx.org",
        version="2.0.4",
        integrity="sha512-HLxMCdfXDOJirs3vBZl/ZLoY+c7PfM4Ahr2Ad4YXh6d22T5ltbTXFFkpx9Tgb2vvmWFMbIc3LqN2ToNkZJvyYQ==",
        member="package/dist/htmx.min.js",
        served_as="htmx.min.js",
    ),
    NpmAsset(
        package="htmx-ext-sse",
        version="2.2.2",
        integrity="sha512-MTnKkBzA2t4sI8gOXrRiPaceTlkUbrw3+3qOy1BfuBNIPBalsJiT4qxUGd6W48ggOkfe2akOnB8uxICJKw+Dsg==",
        member="package/sse.js",
        served_as="htmx-ext-sse.js",
    ),
)


def verified(asset: NpmAsset, tarball: bytes) -> bytes:
    """The served file from the tarball, if the tarball is the one the integrity names."""
    algorithm, _, expected = asset.integrity.partition("-")
    digest = base64.b64encode(hashlib.new(algorithm, tarball).digest()).decode()
    if digest != expected:
        raise ValueError(f"{asset.tarball}: {algorithm} is {digest}, expected {expected}")
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
        member = archive.extractfile(asset.member)
        if member is None:
            raise ValueError(f"{asset.tarball} has no file {asset.member}")
        return member.read()


def fetch(asset: NpmAsset) -> bytes:
    if not asset.tarball.startswith(f"{REGISTRY}/"):
        raise ValueError(f"{asset.tarball} is not on the npm registry")
    with urllib.request.urlopen(asset.tarball, timeout=60) as answer:  # noqa: S310 (https, pinned)
        body: bytes = answer.read()
    return verified(asset, body)


def missing() -> list[NpmAsset]:
    return [asset for asset in ASSETS if not (VENDOR / asset.served_as).is_file()]


def main() -> int:
    VENDOR.mkdir(parents=True, exist_ok=True)
    for asset in missing():
        content = fetch(asset)
        target = VENDOR / asset.served_as
        partial = target.with_suffix(".part")
        partial.write_bytes(content)
        partial.replace(target)
        print(f"fetched {asset.package}@{asset.version} -> {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
