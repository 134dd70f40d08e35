"""The order page's htmx is served from static/vendor/htmx: the version package.json pins."""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VENDORED = ROOT / "static" / "vendor" / "htmx"


def pinned_version() -> str:
    lock = json.loads((ROOT / "package-lock.json").read_text())
    return lock["packages"]["node_modules/htmx.org"]["version"]


def test_the_vendored_htmx_is_the_pinned_version_with_its_licence():
    script = (VENDORED / "htmx.min.js").read_text()
    assert re.search(r'version:"([\d.]+)"', script).group(1) == pinned_version()
    assert json.loads((ROOT / "package.json").read_text())["devDependencies"]["htmx.org"] == (
        pinned_version()
    )
    assert "Zero-Clause BSD" in (VENDORED / "LICENSE").read_text()
    assert pinned_version() in (VENDORED / "README.md").read_text()


def test_the_vendored_htmx_is_the_npm_packages_file_unchanged():
    installed = ROOT / "node_modules" / "htmx.org" / "dist" / "htmx.min.js"
    if not installed.exists():
        pytest.skip("needs npm ci (scripts/test runs it)")
    assert (VENDORED / "htmx.min.js").read_bytes() == installed.read_bytes()
