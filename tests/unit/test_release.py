"""The release workflow's invariants: one home for the version, a changelog section per release."""

from __future__ import annotations

import re
from importlib.metadata import version
from pathlib import Path

import langgraph_redis_saver

ROOT = Path(__file__).resolve().parents[2]


def test_release_version_has_one_home() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'dynamic = ["version"]' in pyproject
    assert re.search(r"^version\s*=", pyproject, flags=re.M) is None  # no second home
    hatch = pyproject.split("[tool.hatch.version]", 1)[1].split("[", 1)[0]
    assert 'path = "src/langgraph_redis_saver/_version.py"' in hatch
    assert version("langgraph-redis-saver") == langgraph_redis_saver.__version__


def test_release_version_has_a_changelog_section() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text()
    sections = re.findall(r"^## \[([^\]]+)\](.*)$", changelog, flags=re.M)
    assert sections and sections[0][0] == "Unreleased", "CHANGELOG.md starts with ## [Unreleased]"
    current = langgraph_redis_saver.__version__
    if ".dev" not in current:
        dated = {name: rest for name, rest in sections}
        assert current in dated, f"CHANGELOG.md needs a '## [{current}] - YYYY-MM-DD' section"
        assert re.fullmatch(r" - \d{4}-\d{2}-\d{2}", dated[current]), dated[current]
