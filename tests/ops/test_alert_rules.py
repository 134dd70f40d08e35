"""Every alert has a summary, a runbook page on the docs site, and a promtool unit test.

`make test` runs `promtool check rules` and `promtool test rules` (see
scripts/bootstrap.sh); this checks what promtool cannot: that each
`runbook_url` is a page of the docs site (mkdocs.yml's site_url plus a page's
URL, as MkDocs publishes it) and that no alert goes untested.
"""

from pathlib import Path

import yaml
from mkdocs.config import load_config
from mkdocs.structure.files import get_files

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "ops" / "prometheus" / "rules.yml"
RULE_TESTS = ROOT / "ops" / "prometheus" / "rules.test.yml"


def alerts(rules_file: Path = RULES) -> list[dict]:
    groups = yaml.safe_load(rules_file.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def site_pages() -> dict[str, str]:
    """The docs site's pages: published URL -> source file under docs/."""
    config = load_config(config_file=str(ROOT / "mkdocs.yml"))
    return {
        config.site_url + file.url: file.src_uri for file in get_files(config).documentation_pages()
    }


def unresolved_runbooks(rules_file: Path, pages: dict[str, str]) -> list[str]:
    return [
        f"{rules_file.name}: {rule['alert']} has runbook_url "
        f"{rule['annotations'].get('runbook_url')}, which is no page of the docs site"
        for rule in alerts(rules_file)
        if rule["annotations"].get("runbook_url") not in pages
    ]


def test_every_alert_has_a_summary_and_a_runbook_url_that_is_a_page_of_the_docs_site():
    assert len(alerts()) == 9
    for alert in alerts():
        assert alert["annotations"]["summary"].strip(), alert["alert"]
    assert unresolved_runbooks(RULES, site_pages()) == []


def test_every_runbook_page_is_named_for_an_alert():
    names = {alert["alert"].lower() for alert in alerts()}
    runbooks = {Path(src).stem for src in site_pages().values() if src.startswith("runbooks/")}
    assert runbooks == names


def test_a_runbook_url_that_is_no_page_is_reported_with_the_file_the_alert_and_the_url(tmp_path):
    rules = tmp_path / "rules.yml"
    rules.write_text(
        "groups:\n  - name: demo\n    rules:\n"
        "      - alert: DemoGone\n        expr: vector(1)\n"
        "        annotations: {summary: gone, runbook_url: 'https://orderly.example/docs/runbooks/gone/'}\n"
        "      - alert: DemoFine\n        expr: vector(1)\n"
        "        annotations: {summary: fine, runbook_url: 'https://orderly.example/docs/'}\n"
    )
    pages = {"https://orderly.example/docs/": "index.md"}
    assert unresolved_runbooks(rules, pages) == [
        "rules.yml: DemoGone has runbook_url https://orderly.example/docs/runbooks/gone/, "
        "which is no page of the docs site"
    ]


def test_every_alert_has_a_promtool_test_where_it_fires_and_one_where_it_does_not():
    tests = yaml.safe_load(RULE_TESTS.read_text())["tests"]
    cases = [case for test in tests for case in test.get("alert_rule_test", [])]
    for alert in alerts():
        mine = [case for case in cases if case["alertname"] == alert["alert"]]
        assert any(case["exp_alerts"] for case in mine), f"{alert['alert']} never fires"
        assert any(not case["exp_alerts"] for case in mine), f"{alert['alert']} never stays quiet"
