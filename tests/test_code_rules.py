"""Rules of the code base that a linter does not check (the import layers: lint-imports)."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ["accounts", "inventory", "jobs", "notifications", "ops", "orders", "reports", "sandbox",
        "storefront", "project", "console", "safetext"]  # fmt: skip


def app_modules():
    for app in APPS:
        yield from (path for path in (ROOT / app).rglob("*.py") if "migrations" not in path.parts)


def test_rows_are_locked_only_through_each_apps_lock_objects_module():
    offenders = [
        str(path.relative_to(ROOT))
        for path in app_modules()
        if path.name != "lock_objects.py" and ".select_for_update(" in path.read_text()
    ]
    assert not offenders, f"lock rows through <app>/lock_objects.py, not in {offenders}"


LOCK_CALL = re.compile(r"\.select_for_update\((?:[^()]|\([^()]*\))*\)")


def test_every_lock_helper_locks_its_own_table_only():
    calls = [
        (path.name, call)
        for path in app_modules()
        if path.name == "lock_objects.py"
        for call in LOCK_CALL.findall(path.read_text())
    ]
    assert len(calls) >= 10
    assert [call for call in calls if 'of=("self",)' not in call[1]] == []
