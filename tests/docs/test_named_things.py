"""Every `make` target, repository path and test the README and the docs name exists."""

from pathlib import Path

import pytest

from .markdown_checks import missing_names

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_every_make_target_path_and_test_a_page_names_exists(page):
    assert missing_names(page, ROOT) == []


def test_a_missing_target_path_or_test_is_reported_with_the_file_and_the_name(tmp_path):
    (tmp_path / "Makefile").write_text(".PHONY: dev\ndev:  ## run it\n\t./scripts/dev\n")
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "dev").write_text("")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_shop.py").write_text("def test_checkout_works():\n    pass\n")
    (tmp_path / "guide.md").write_text(
        "# Guide\n\nRun `make dev` or `make serve`, see `scripts/dev` and `scripts/deploy`, "
        "`test_checkout_works` and `test_refund_works`. Files go to `var/mail/` and "
        "`scripts/<name>`. Make sure nothing else counts.\n\n"
        "```bash\nmake bench ARGS=1\n```\n"
    )
    assert missing_names(tmp_path / "guide.md", tmp_path) == [
        "guide.md: names `make serve`, but the Makefile has no such target",
        "guide.md: names `scripts/deploy`, which does not exist",
        "guide.md: names the test `test_refund_works`, which no test module defines",
        "guide.md: names `make bench`, but the Makefile has no such target",
    ]
