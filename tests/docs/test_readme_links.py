"""Every relative link in README.md leads to a file, and every anchor to a heading."""

from pathlib import Path

from .markdown_checks import broken_links

ROOT = Path(__file__).resolve().parents[2]


def test_every_relative_link_in_the_readme_resolves():
    assert broken_links(ROOT / "README.md", ROOT) == []


def test_readme_is_the_short_front_door():
    assert len((ROOT / "README.md").read_text().splitlines()) <= 300


def test_a_broken_link_in_a_readme_is_reported_with_the_file_and_the_link(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "guide.md").write_text("# Guide\n\n## Requeue a dead letter\n")
    (tmp_path / "README.md").write_text(
        "# Demo\n\n## Start\n\n"
        "[fine](docs/guide.md#requeue-a-dead-letter), [fine too](#start), "
        "[external](https://example.com/nope)\n\n"
        "[no file](docs/gone.md), [no heading](docs/guide.md#requeue), [no anchor](#stop)\n\n"
        "```\n[in a code block](not-a-link.md)\n```\n"
    )
    assert broken_links(tmp_path / "README.md", tmp_path) == [
        "README.md: link 'docs/gone.md': no file docs/gone.md",
        "README.md: link 'docs/guide.md#requeue': no heading '#requeue' in docs/guide.md",
        "README.md: link '#stop': no heading '#stop' in README.md",
    ]
