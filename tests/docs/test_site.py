"""The docs site builds in strict mode: every internal link and anchor resolves.

mkdocs.yml raises every link check to a warning (`validation`), and --strict
turns warnings into a failed build; the configuration page's hook fails the
build too when a setting is undocumented. The site goes to a temporary
directory, never into the tree.
"""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def mkdocs_build(config: Path, site_dir: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    # Not --quiet: it hides the warnings, and --strict then counts none of them.
    command = [sys.executable, "-m", "mkdocs", "build", "--strict"]
    command += ["--config-file", str(config), "--site-dir", str(site_dir)]
    return subprocess.run(command, cwd=config.parent, env=env, capture_output=True, text=True)


def test_the_docs_site_builds_in_strict_mode(tmp_path):
    result = mkdocs_build(ROOT / "mkdocs.yml", tmp_path / "site")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "site" / "runbooks" / "orderlyoutboxstuck" / "index.html").is_file()


def test_a_broken_link_or_anchor_fails_the_build_naming_the_file_and_the_link(tmp_path):
    """The same settings as the real site (INHERIT), on a page with a dead link and anchor."""
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "index.md").write_text(
        "# Home\n\n## A heading\n\nSee [gone](missing.md) and [nowhere](#no-such-heading), "
        "but [here](#a-heading) is fine.\n"
    )
    (tmp_path / "mkdocs.yml").write_text(
        f"INHERIT: {ROOT / 'mkdocs.yml'}\ndocs_dir: docs\nhooks: []\nnav:\n  - index.md\n"
    )
    result = mkdocs_build(tmp_path / "mkdocs.yml", tmp_path / "site")
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "'index.md' contains a link 'missing.md'" in output, output
    assert "'index.md' contains a link '#no-such-heading'" in output, output
    assert "#a-heading" not in output, output
