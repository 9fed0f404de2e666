"""The spend dashboard projects the month as the recording rules do: from whole days billed, today
included, so its "Projected month end" equals ``target:github_copilot_billing_net_amount_usd:
projected_month_end`` at every hour of the month. Both are evaluated by promtool over a month of 1970
(time() is the evaluation time in seconds from 00:00 UTC, 1 January)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import yaml

from tests.support import REPO, need_binary

SPEND = REPO / "grafana" / "dashboards" / "copilot-spend.json"
RULES = REPO / "deploy" / "prometheus" / "copilot-rules.yml"
LABELS = 'job="github-copilot-exporter",instance="exporter:9185",enterprise="",org="acme"'
NET = 100.0
START = f'github_copilot_billing_period_start_timestamp_seconds{{{LABELS},period="month"}}'
NET_MONTH = f'github_copilot_billing_net_amount_usd{{{LABELS},period="month",sku="copilot_for_business"}}'
#: Hours into January 1970 (31 days) and the days billed by then: the first hour, 10:00 on the 2nd,
#: the last hour.
READINGS = {0: 1, 34: 2, 743: 31}


def dashboard_query(title: str) -> str:
    """A spend panel's query with All selected (the variables' allValue)."""
    panels: list[dict[str, Any]] = json.loads(SPEND.read_text())["panels"]
    (panel,) = [p for p in panels if p.get("title") == title]
    expr: str = panel["targets"][0]["expr"]
    return expr.replace("$enterprise", ".*").replace("$org", ".*")


def test_the_dashboard_projection_counts_whole_days_billed_as_the_rules_do(tmp_path: Path) -> None:
    promtool = need_binary("promtool")
    checks = [
        {
            "expr": expr,
            "eval_time": f"{hour}h",
            "exp_samples": [{"labels": labels, "value": NET / (days / 31)}],
        }
        for hour, days in READINGS.items()
        for expr, labels in (
            (dashboard_query("Projected month end"), "{}"),
            (
                'target:github_copilot_billing_net_amount_usd:projected_month_end{org="acme"}',
                'target:github_copilot_billing_net_amount_usd:projected_month_end{enterprise="",org="acme"}',
            ),
        )
    ]
    suite = {
        "rule_files": [str(RULES)],
        "evaluation_interval": "1h",
        "tests": [
            {
                "interval": "1h",
                "input_series": [
                    {
                        "series": START,
                        "values": "0x743",
                    },
                    {
                        "series": NET_MONTH,
                        "values": f"{NET:g}x743",
                    },
                ],
                "promql_expr_test": checks,
            }
        ],
    }
    path = tmp_path / "projection.test.yml"
    path.write_text(yaml.safe_dump(suite, sort_keys=False))
    result = subprocess.run(
        [promtool, "test", "rules", str(path)], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
