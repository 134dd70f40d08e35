"""Every alert has a summary, a runbook entry in the README, and a promtool unit test.

`make test` runs `promtool check rules` and `promtool test rules` (see
scripts/bootstrap.sh); this checks what promtool cannot: that the runbook
links lead somewhere and that no alert goes untested.
"""

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "ops" / "prometheus" / "rules.yml"
RULE_TESTS = ROOT / "ops" / "prometheus" / "rules.test.yml"


def alerts() -> list[dict]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def readme_anchors() -> set[str]:
    """GitHub's anchors for the README's headings (lower case, spaces to dashes)."""
    headings = re.findall(r"^#+ (.+)$", (ROOT / "README.md").read_text(), flags=re.M)
    return {re.sub(r"[^a-z0-9 -]", "", h.lower()).replace(" ", "-") for h in headings}


def test_every_alert_has_a_summary_and_a_runbook_link_to_a_readme_section():
    anchors = readme_anchors()
    assert len(alerts()) == 7
    for alert in alerts():
        annotations = alert["annotations"]
        assert annotations["summary"].strip(), alert["alert"]
        page, _, anchor = annotations["runbook_url"].partition("#")
        assert page == "README.md" and anchor in anchors, (alert["alert"], anchor)


def test_every_alert_has_a_promtool_test_where_it_fires_and_one_where_it_does_not():
    tests = yaml.safe_load(RULE_TESTS.read_text())["tests"]
    cases = [case for test in tests for case in test.get("alert_rule_test", [])]
    for alert in alerts():
        mine = [case for case in cases if case["alertname"] == alert["alert"]]
        assert any(case["exp_alerts"] for case in mine), f"{alert['alert']} never fires"
        assert any(not case["exp_alerts"] for case in mine), f"{alert['alert']} never stays quiet"
