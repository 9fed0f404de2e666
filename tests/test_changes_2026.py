"""Every field GitHub added to the usage records in 2026 is accounted for in the README.

``../shared/github-api/CHANGES-2026.md`` lists them ("Fields added to the NDJSON records"); each one is
either exported (named in a row of the README's metrics tables, which gives an example query) or named
in one of the README's notes of fields deliberately not exported, with the reason. The exporter's parsers
know each of them too, so none counts in ``github_copilot_usage_unknown_fields``. Skipped where the shared
directory is absent (COPILOT_EXPORTER_SHARED points at it from a worktree).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from exporter.sources.repositories.model import COUNTS, MEDIANS
from exporter.sources.usage.agents import TOKEN_FIELDS
from exporter.sources.usage.fields import KNOWN
from tests.support import SHARED

REPO = Path(__file__).resolve().parent.parent
CHANGES = SHARED / "github-api" / "CHANGES-2026.md"
README = REPO / "README.md"
SECTION = "## Fields added to the NDJSON records"
#: The fields of the repository records, beside the ``pull_requests`` counts and medians.
REPOSITORY_FIELDS = {"day", "organization_id", "enterprise_id", "repo_id", "repo_owner_name", "repo_name"}
REPOSITORY_FIELDS |= {
    "repo_visibility",
    "pull_requests",
    "copilot_suggestions_by_comment_type",
    *COUNTS,
    *MEDIANS,
}
#: A README paragraph that lists fields deliberately not exported says so in these words.
NOT_EXPORTED = ("deliberately", "Not exported")


def known_names() -> set[str]:
    """Every field name the parsers know, at the top level and one level down."""
    names = {*REPOSITORY_FIELDS, *TOKEN_FIELDS}
    for fields in KNOWN.values():
        for name, children in fields.items():
            names.add(name)
            names.update(children or ())
    return names


def section(text: str, heading: str) -> str:
    start = text.index(heading) + len(heading)
    end = text.find("\n## ", start)
    return text[start : end if end >= 0 else len(text)]


def changed_fields(text: str) -> set[str]:
    """The field names of the section: lower-case names in backticks (upper-case ones are values, such as
    ``PUBLIC``); ``weekly_…`` is the name before it with another first word, and ``…_by_copilot`` stands
    for every field of ``pull_requests`` it matches (the only shorthand of that kind)."""
    names: set[str] = set()
    previous = ""
    for token in re.findall(r"`([^`]+)`", section(text, SECTION)):
        token = token.removesuffix("[]")
        if not re.fullmatch(r"[a-z0-9_…]+", token):
            continue
        if token.endswith("_…") and not token.startswith("…") and "_" in previous:
            token = token.removesuffix("…") + previous.split("_", 1)[1]
        if "…" in token:
            pattern = re.compile(re.escape(token).replace("…", r"\w*"))
            matches = {name for name in (*COUNTS, *MEDIANS) if pattern.fullmatch(name)}
            assert matches, f"{token} matches no field the exporter knows"
            names |= matches
        else:
            names.add(token)
            previous = token
    return names


def readme_places() -> tuple[str, str]:
    """The README's metrics table rows that give an example query, and its not-exported notes."""
    metrics = section(README.read_text(), "## Metrics")
    rows = [
        line
        for line in metrics.splitlines()
        # The last cell, the example query, is code.
        if line.startswith("| ") and line.rstrip().endswith("` |")
    ]
    notes = [p for p in metrics.split("\n\n") if any(words in p for words in NOT_EXPORTED)]
    return "\n".join(rows), "\n\n".join(notes)


def named(name: str, text: str) -> bool:
    return re.search(rf"`{re.escape(name)}(\[\])?`", text) is not None


@pytest.fixture(scope="module")
def changes() -> str:
    if not CHANGES.exists():
        pytest.skip(f"no {CHANGES} (the project's shared directory beside the checkout)")
    return CHANGES.read_text()


def test_the_section_lists_the_fields_of_2026(changes: str) -> None:
    fields = changed_fields(changes)
    # The parsing found the section's fields, the shorthand ones included.
    assert {"daily_active_copilot_cloud_agent_users", "monthly_active_copilot_cloud_agent_users"} <= fields
    assert {"total_created_by_copilot", "total_merged_reviewed_by_copilot"} <= fields
    assert {"avg_pull_requests_review_cycles", "used_copilot_coding_agent", "repo_visibility"} <= fields
    assert "PUBLIC" not in fields


def test_every_field_added_in_2026_is_exported_or_said_not_to_be(changes: str) -> None:
    rows, notes = readme_places()
    assert rows
    assert notes
    missing = sorted(
        name for name in changed_fields(changes) if not named(name, rows) and not named(name, notes)
    )
    assert not missing, f"README.md names neither a metric nor a reason for: {', '.join(missing)}"


def test_every_field_added_in_2026_is_known_to_the_parsers(changes: str) -> None:
    unread = {
        "chat_panel_plan_mode": "a value, not a field: a feature of totals_by_feature[]",
        "day_totals": "the 28-day reports' list of daily records; the exporter reads the 1-day reports",
        "avg_tokens_per_request": "inside token_usage, two levels down, where no unknown field is counted",
    }
    unknown = sorted(changed_fields(changes) - known_names() - set(unread))
    assert not unknown, f"CHANGES-2026.md fields the parsers do not know: {', '.join(unknown)}"
