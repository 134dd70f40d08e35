"""MkDocs hook: the configuration page's tables, generated from the code at every build.

`project/settings.py` is read as Python source (an AST walk, nothing is
imported) for every `env.str/int/bool/...("NAME", default=...)` call, and
`.env.example` for the comment above each variable. The page therefore lists
every variable settings reads, with the default written in settings, and
cannot fall behind. A variable settings reads that `.env.example` does not
describe stops the build with a message naming both files and the variable.
"""

import ast
import re
from dataclasses import dataclass
from pathlib import Path

from mkdocs.exceptions import PluginError

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = ROOT / "project" / "settings.py"
ENV_EXAMPLE = ROOT / ".env.example"
PAGE = "configuration.md"
SETTINGS_MARKER = "<!-- settings-table -->"
PROCESS_MARKER = "<!-- process-variables-table -->"
# django-environ's readers; env("NAME") itself reads a string.
READERS = {"str", "int", "bool", "float", "list", "tuple", "dict", "json", "path", "url"}
READERS |= {"db", "db_url", "cache", "cache_url", "email", "email_url", "search_url"}
_ENTRY = re.compile(r"^#?\s*([A-Z][A-Z0-9_]*)=(.*)$")


class UndocumentedSetting(PluginError):
    """settings.py reads a variable that .env.example does not describe."""


@dataclass
class Variable:
    name: str
    kind: str
    default: str | None  # the default's source text, None when there is none
    scaled: bool  # multiplied by ORDERLY_TIMER_SCALE
    line: int


def _reader(call: ast.Call, env_name: str) -> str | None:
    func = call.func
    if isinstance(func, ast.Name) and func.id == env_name:
        return "str"
    if (
        isinstance(func, ast.Attribute)
        and isinstance(func.value, ast.Name)
        and func.value.id == env_name
        and func.attr in READERS
    ):
        return func.attr
    return None


def settings_variables(path: Path = SETTINGS, env_name: str = "env") -> list[Variable]:
    """Every environment variable `path` reads through `env`, in the order it reads them."""
    source = path.read_text()
    tree = ast.parse(source, filename=str(path))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found: dict[str, Variable] = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not (kind := _reader(node, env_name)):
            continue
        if not node.args or not isinstance(node.args[0], ast.Constant):
            continue
        name = node.args[0].value
        default = next((k.value for k in node.keywords if k.arg == "default"), None)
        if default is None and len(node.args) > 1 and kind in {"str", "int", "bool", "float"}:
            default = node.args[1]  # their second positional parameter is the default
        default_text = None
        if default is not None:
            default_text = " ".join(ast.get_source_segment(source, default).split())
        scaled, parent = False, parents.get(node)
        while parent is not None:
            if isinstance(parent, ast.Call) and getattr(parent.func, "id", "") == "_scaled":
                scaled = True
            parent = parents.get(parent)
        variable = Variable(name, kind, default_text, scaled, node.lineno)
        known = found.get(name)
        if known is None or (known.default is None and default_text is not None):
            found[name] = variable
    return sorted(found.values(), key=lambda v: v.line)


def env_example_entries(path: Path = ENV_EXAMPLE) -> dict[str, tuple[str, str]]:
    """`.env.example`'s variables: name -> (the comment above it, its example value).

    Variables on consecutive lines share the comment above the first of them.
    """
    entries: dict[str, tuple[str, str]] = {}
    comment: list[str] = []
    after_entry = False
    for line in path.read_text().splitlines():
        line = line.strip()
        if match := _ENTRY.match(line):
            entries.setdefault(match[1], (" ".join(comment), match[2].strip().strip('"')))
            after_entry = True
        elif not line or line.startswith("# ---"):
            comment, after_entry = [], False
        elif line.startswith("#"):
            if after_entry:
                comment, after_entry = [], False
            comment.append(line.lstrip("#").strip())
    return entries


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def settings_table(settings: Path = SETTINGS, env_example: Path = ENV_EXAMPLE) -> str:
    """The Markdown table of every variable `settings` reads, described by `env_example`."""
    variables = settings_variables(settings)
    described = env_example_entries(env_example)
    missing = [v.name for v in variables if not described.get(v.name, ("",))[0]]
    if missing:
        raise UndocumentedSetting(
            f"{settings} reads {', '.join(missing)}, but {env_example} does not describe "
            "it: add the variable there, with a comment line above it saying what it does."
        )
    rows = ["| variable | read as | default in settings | what it does |", "|---|---|---|---|"]
    for v in variables:
        default = f"`{_cell(v.default)}`" if v.default is not None else "none (required)"
        if v.scaled:
            default += " times `ORDERLY_TIMER_SCALE`"
        rows.append(f"| `{v.name}` | {v.kind} | {default} | {_cell(described[v.name][0])} |")
    return "\n".join(rows)


def process_table(settings: Path = SETTINGS, env_example: Path = ENV_EXAMPLE) -> str:
    """`.env.example`'s variables that settings does not read (the Procfile and compose do)."""
    read = {v.name for v in settings_variables(settings)}
    rows = ["| variable | example value | what it does |", "|---|---|---|"]
    for name, (comment, value) in env_example_entries(env_example).items():
        if name not in read:
            rows.append(f"| `{name}` | `{_cell(value)}` | {_cell(comment)} |")
    return "\n".join(rows)


def on_page_markdown(markdown: str, page, config, files) -> str:
    if page.file.src_uri != PAGE:
        return markdown
    for marker in (SETTINGS_MARKER, PROCESS_MARKER):
        if marker not in markdown:
            raise PluginError(f"docs/{PAGE} lost its marker {marker}")
    markdown = markdown.replace(SETTINGS_MARKER, settings_table())
    return markdown.replace(PROCESS_MARKER, process_table())
