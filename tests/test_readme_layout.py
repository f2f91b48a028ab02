"""README.md's layout table names every top-level folder of the repository, and only those."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROW = re.compile(r"^\| `([^`/]+)/` \|", re.MULTILINE)


def _layout_table() -> set[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Layout") :]
    section = section[: section.index("\n## ", 1)]
    return set(ROW.findall(section))


def _top_level_folders() -> set[str]:
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    return {path.split("/", 1)[0] for path in tracked if "/" in path}


def test_the_layout_table_matches_the_tree() -> None:
    table, tree = _layout_table(), _top_level_folders()
    assert "workflows" in table
    assert sorted(tree - table) == [], "folders missing from README.md's layout table"
    assert sorted(table - tree) == [], "README.md's layout table names folders that do not exist"
