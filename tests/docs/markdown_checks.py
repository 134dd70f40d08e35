"""Checks that what the README and the docs name exists: links, anchors, make targets, paths.

The site's own links and anchors are checked by `mkdocs build --strict`; the
README is not part of the site (GitHub renders it), so its links are checked
here. Markdown is rendered with Python-Markdown (MkDocs' own renderer) and
read with the standard library's HTML parser, so links and code are found the
way a renderer finds them, never in a fenced block by accident. Heading ids
are GitHub's (pymdownx's slugify), as in mkdocs.yml.
"""

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import markdown
from pymdownx.slugs import slugify

_GITHUB_SLUG = slugify(case="lower")
# A path inside the repository, as the docs write one in code: `jobs/base.py`, `scripts/test`.
_PATH = re.compile(r"(?<![\w/.:-])\.?[\w-]+(?:/[\w.-]+)+/?")
_MAKE = re.compile(r"(?:^|[\s;&|(])make ([a-z][\w-]*)")
_TEST_NAME = re.compile(r"(?<![\w/.])(test_\w+)(?![\w.])")
# Top-level entries that are not in the repository (built, installed or written at run time).
_NOT_IN_REPOSITORY = {"var", "site", "node_modules", "staticfiles"}


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: list[str] = []
        self.ids: set[str] = set()
        self.code: list[str] = []
        self._in_code = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        if tag == "img" and attrs.get("src"):
            self.links.append(attrs["src"])
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        if tag == "code":
            self._in_code += 1
            self.code.append("")

    def handle_endtag(self, tag):
        if tag == "code" and self._in_code:
            self._in_code -= 1

    def handle_data(self, data):
        if self._in_code:
            self.code[-1] += data


def render(path: Path) -> _Collector:
    """The links, element ids and code texts of a Markdown file, as rendered."""
    html = markdown.markdown(
        path.read_text(),
        extensions=["tables", "fenced_code", "attr_list", "toc"],
        extension_configs={"toc": {"slugify": _GITHUB_SLUG}},
    )
    collector = _Collector()
    collector.feed(html)
    return collector


def broken_links(path: Path, root: Path) -> list[str]:
    """Every relative link or image in `path` whose file or heading does not exist."""
    problems = []
    anchors: dict[Path, set[str]] = {}
    for link in render(path).links:
        parts = urlsplit(link)
        if parts.scheme or parts.netloc or link.startswith("//"):
            continue  # absolute: not ours to check offline
        target = (path.parent / unquote(parts.path)).resolve() if parts.path else path.resolve()
        where = f"{path.relative_to(root)}: link '{link}'"
        if not target.is_relative_to(root.resolve()):
            problems.append(f"{where} leads outside the repository")
        elif not target.exists():
            problems.append(f"{where}: no file {target.relative_to(root.resolve())}")
        elif parts.fragment:
            if target.suffix != ".md":
                problems.append(f"{where}: an anchor into a file that is not Markdown")
                continue
            if target not in anchors:
                anchors[target] = render(target).ids
            if unquote(parts.fragment) not in anchors[target]:
                name = target.relative_to(root.resolve())
                problems.append(f"{where}: no heading '#{parts.fragment}' in {name}")
    return problems


def make_targets(makefile: Path) -> set[str]:
    """The targets a Makefile defines (`name:` at the start of a line)."""
    return set(re.findall(r"^([A-Za-z0-9][\w-]*)\s*:(?!=)", makefile.read_text(), flags=re.M))


def defined_tests(tests_dir: Path) -> set[str]:
    return {
        name
        for module in tests_dir.rglob("*.py")
        for name in re.findall(r"^\s*(?:async )?def (test_\w+)\(", module.read_text(), re.M)
    }


def missing_names(path: Path, root: Path) -> list[str]:
    """Every `make` target, repository path and test name that `path` names in code but is gone.

    Only code (inline or in blocks) is read, so prose never counts as a name;
    paths with placeholders (`<uuid>`, `*`) and paths outside the repository's
    top-level entries (`var/`, URLs, `/usr/...`) are not names of files here.
    """
    code = render(path).code
    where = path.relative_to(root)
    targets = make_targets(root / "Makefile")
    tests = None
    problems = []
    for text in code:
        for target in _MAKE.findall(text):
            if target not in targets:
                problems.append(
                    f"{where}: names `make {target}`, but the Makefile has no such target"
                )
        for match in _PATH.finditer(text):
            if text[match.end() : match.end() + 1] in {"<", "{", "*", "…", "$", "%"}:
                continue  # a pattern (`reports/sales/<id>/`), not a path
            token = match[0]
            first = token.split("/")[0]
            if first in _NOT_IN_REPOSITORY or not (root / first).exists():
                continue
            if not (root / token).exists():
                problems.append(f"{where}: names `{token}`, which does not exist")
        for name in _TEST_NAME.findall(text):
            tests = tests if tests is not None else defined_tests(root / "tests")
            if name not in tests:
                problems.append(f"{where}: names the test `{name}`, which no test module defines")
    return problems
