"""The fake GitHub answers exactly as GitHub's published schemas say, over real HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator, FormatChecker

from exporter.github.links import parse_link_header
from tests.fakegithub.world import DEMO_ENTERPRISE, DEMO_ORG, demo_github
from tests.support import SHARED_SPEC, SPEC_PATH, TOKEN, VENDORED_SPEC, Dataset, ServedFake, serve_fake


def test_the_copy_of_the_schemas_in_tests_is_the_shared_one() -> None:
    if not SHARED_SPEC.exists():
        pytest.skip(f"no shared copy at {SHARED_SPEC} to compare with")
    assert VENDORED_SPEC.read_bytes() == SHARED_SPEC.read_bytes(), "copy ../shared/github-api/ into tests/"


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SPEC_PATH.read_text())
    return data


def _validator(spec: dict[str, Any], name: str) -> Draft202012Validator:
    matches = [key for key in spec["schemas"] if key == name or key.startswith(name + " ")]
    assert len(matches) == 1, (name, matches)
    return Draft202012Validator(spec["schemas"][matches[0]], format_checker=FormatChecker())


def _all_pages(client: httpx.Client, url: str) -> Iterator[httpx.Response]:
    next_url: str | None = url
    while next_url:
        response = client.get(next_url)
        assert response.status_code == 200, response.text
        yield response
        next_url = parse_link_header(response.headers.get("link", "")).get("next")


def _assert_valid(validator: Draft202012Validator, body: Any) -> None:
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message[:300]}" for e in errors[:5])


def test_every_body_validates_against_the_published_schemas(spec: dict[str, Any], dataset: Dataset) -> None:
    org_list = _validator(spec, "x-org-seats-list-response")
    ent_list = _validator(spec, "x-enterprise-seats-list-response")
    details = _validator(spec, "copilot-organization-details")
    error = _validator(spec, "basic-error")
    for app, org, enterprise, token in (
        (dataset.app(), "acme", "acme-corp", TOKEN),
        (demo_github(), DEMO_ORG, DEMO_ENTERPRISE, None),
    ):
        with serve_fake(app) as fake:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            with httpx.Client(base_url=fake.url, headers=headers) as client:
                pages = list(_all_pages(client, f"{fake.url}/orgs/{org}/copilot/billing/seats?per_page=100"))
                assert len(pages) >= 2
                for page in pages:
                    _assert_valid(org_list, page.json())
                for page in _all_pages(client, f"{fake.url}/enterprises/{enterprise}/copilot/billing/seats"):
                    _assert_valid(ent_list, page.json())
                _assert_valid(details, client.get(f"/orgs/{org}/copilot/billing").json())
                missing = client.get("/orgs/no-such-org/copilot/billing/seats")
                assert missing.status_code == 404
                _assert_valid(error, missing.json())


def test_pagination_links_like_github(fake: ServedFake) -> None:
    with httpx.Client(headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        first = client.get(f"{fake.url}/orgs/acme/copilot/billing/seats?per_page=100")
        links = parse_link_header(first.headers["link"])
        assert set(links) == {"next", "last"}
        assert links["next"].endswith("per_page=100&page=2")
        assert links["last"].endswith("per_page=100&page=3")
        middle = parse_link_header(client.get(links["next"]).headers["link"])
        assert set(middle) == {"first", "prev", "next", "last"}
        last = client.get(links["last"])
        assert set(parse_link_header(last.headers["link"])) == {"first", "prev"}
        assert len(last.json()["seats"]) == 50
        assert last.json()["total_seats"] == 250
        default = client.get(f"{fake.url}/orgs/acme/copilot/billing/seats")
        assert len(default.json()["seats"]) == 50  # GitHub's default per_page


def test_etags_rate_limits_and_auth(fake: ServedFake) -> None:
    url = f"{fake.url}/orgs/acme/copilot/billing"
    with httpx.Client(headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        first = client.get(url)
        remaining = int(first.headers["x-ratelimit-remaining"])
        assert first.headers["x-ratelimit-limit"] == "5000"
        assert first.headers["x-ratelimit-resource"] == "core"
        etag = first.headers["etag"]
        again = client.get(url, headers={"If-None-Match": etag})
        assert again.status_code == 304
        assert int(again.headers["x-ratelimit-remaining"]) == remaining  # 304s are free
        assert client.get(url).headers["x-ratelimit-remaining"] == str(remaining - 1)
    bad = httpx.get(url, headers={"Authorization": "Bearer wrong"})
    assert bad.status_code == 401
    assert bad.json()["message"] == "Bad credentials"
    assert httpx.get(url).status_code == 401
