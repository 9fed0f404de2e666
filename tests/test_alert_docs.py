"""docs/alerts.md and docs/security.md against what ships: routes, receivers, snippets and reasons.

No process is started: the shipped YAML and the docs' Markdown are parsed and compared.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from tests.support import REPO

ALERTS_DOC = (REPO / "docs" / "alerts.md").read_text()
SECURITY_DOC = (REPO / "docs" / "security.md").read_text()
ROUTING = yaml.safe_load((REPO / "deploy" / "alertmanager" / "alertmanager.yml").read_text())
RULES = yaml.safe_load((REPO / "deploy" / "prometheus" / "copilot-rules.yml").read_text())
ALERT_NAMES = sorted({r["alert"] for g in RULES["groups"] for r in g["rules"] if "alert" in r})


def receiver_of(alertname: str) -> str:
    for route in ROUTING["route"]["routes"]:
        for matcher in route["matchers"]:
            name, op, value = re.fullmatch(r'(\w+) (=~|=) "(.*)"', matcher).groups()  # type: ignore[union-attr]
            if name == "alertname" and re.fullmatch(value if op == "=~" else re.escape(value), alertname):
                return str(route["receiver"])
    return str(ROUTING["route"]["receiver"])


def routing_table() -> dict[str, str]:
    """alertname -> receiver as the table of docs/alerts.md gives them (``CopilotExporter*`` expanded)."""
    section = ALERTS_DOC.split("## Alertmanager routing and receivers", 1)[1]
    table: dict[str, str] = {}
    for row in re.findall(r"^\| (`Copilot.*?) \| `([\w-]+)` \|", section, re.M):
        for pattern in re.findall(r"`([\w*]+)`", row[0]):
            for name in ALERT_NAMES:
                if re.fullmatch(pattern.replace("*", ".*"), name):
                    table[name] = row[1]
    return table


def test_the_routing_table_names_the_receiver_each_alert_is_routed_to() -> None:
    documented = routing_table()
    assert sorted(documented) == ALERT_NAMES
    assert {name: receiver_of(name) for name in ALERT_NAMES} == documented


def test_an_alert_documented_for_finops_reaches_the_finops_receiver() -> None:
    for name in ALERT_NAMES:
        section = ALERTS_DOC.split(f"### {name}\n", 1)[1].split("\n### ", 1)[0]
        if "**Meaning.** For FinOps" in section:
            assert receiver_of(name) == "copilot-finops", name


def test_the_per_team_snippet_is_the_shipped_route_with_child_routes() -> None:
    section = ALERTS_DOC.split("**One destination per team.**", 1)[1]
    snippet = re.search(r"```yaml\n(.*?)```", section, re.S).group(1)  # type: ignore[union-attr]
    (route,) = yaml.safe_load(snippet)
    children = route.pop("routes")
    assert children
    assert all("receiver" in child for child in children)
    (shipped,) = [r for r in ROUTING["route"]["routes"] if r["receiver"] == route["receiver"]]
    assert route == shipped


def _emitted_reasons() -> set[str]:
    reasons = set()
    for path in (REPO / "exporter").rglob("*.py"):
        text = path.read_text()
        reasons |= set(re.findall(r'^\s+reason = "(\w+)"', text, re.M))
        reasons |= set(re.findall(r'self\._failed\(source, target, "(\w+)"', text))
    reasons.discard("error")  # GitHubError's own default: only its subclasses are raised
    return reasons


def _documented(doc: str, heading: str) -> set[str]:
    section = doc.split(heading, 1)[1].split("\n#", 1)[0]
    return {r for cell in re.findall(r"^\| (`.*?) \|", section, re.M) for r in re.findall(r"`(\w+)`", cell)}


def test_every_failure_reason_the_code_gives_is_in_the_reason_tables() -> None:
    reasons = _emitted_reasons()
    assert {"forbidden", "poll_timeout", "not_applicable", "no_report", "internal_error"} <= reasons
    assert reasons - _documented(SECURITY_DOC, "### Failure reasons") == set()
    in_alerts = _documented(ALERTS_DOC, "### CopilotExporterPollFailing") | _documented(
        ALERTS_DOC, "### CopilotUsageReportStale"
    )
    assert reasons - in_alerts == set()


def test_the_source_values_in_the_docs_are_every_source() -> None:
    sources: set[Any] = set()
    for path in (REPO / "exporter" / "sources").glob("*/source.py"):
        sources |= set(re.findall(r'^\s+name = "(\w+)"', path.read_text(), re.M))
    assert sources == {"seats", "billing", "usage", "repositories"}
    meaning = ALERTS_DOC.split("### CopilotExporterPollFailing", 1)[1].split("**What to do.**", 1)[0]
    assert all(f"`{s}`" in meaning for s in sources)


def _permission_table(doc: str) -> str:
    marker = "<!-- permissions table:"
    rest = doc.split(marker, 1)[1].split("\n", 1)[1]
    return rest.split("\n\n", 1)[0]


def test_readme_and_security_md_give_the_same_permissions_table() -> None:
    readme = (REPO / "README.md").read_text()
    assert _permission_table(readme) == _permission_table(SECURITY_DOC)


def test_each_sources_forbidden_hint_names_the_permissions_of_its_table_rows() -> None:
    from exporter.errors import PermissionDeniedError
    from exporter.sources.billing.errors import BILLING_ACCESS
    from exporter.sources.repositories.source import ACCESS_HINT as REPOSITORIES_ACCESS
    from exporter.sources.usage.source import ACCESS_HINT

    hints = {
        "seats": PermissionDeniedError.hint,
        "billing": BILLING_ACCESS,
        "usage": ACCESS_HINT,
        "repositories": REPOSITORIES_ACCESS,
    }
    rows = [r for r in _permission_table(SECURITY_DOC).splitlines()[2:] if r.startswith("| ")]
    assert len(rows) == 8  # four sources, organization and enterprise each
    for row in rows:
        source, _target, classic, *_ = (cell.strip() for cell in row.strip("|").split("|"))
        hint = hints[source.split()[0]]
        for name in re.findall(r"\*\*(.+?)\*\*", row) + re.findall(r"`(\w+:\w+)`", classic):
            assert name in hint, (source, name)
