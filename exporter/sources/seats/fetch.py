"""Reading one target's seats from GitHub: every page of its seat list (and an organization's billing
summary), all or nothing."""

from __future__ import annotations

import asyncio

from exporter.config import Target
from exporter.github.client import GitHubClient
from exporter.sources.seats.model import OrgBilling, SeatPage, parse_org_billing, parse_seat_page

ENDPOINT_ORG_BILLING = "/orgs/{org}/copilot/billing"
ENDPOINT_ORG_SEATS = "/orgs/{org}/copilot/billing/seats"
ENDPOINT_ENTERPRISE_SEATS = "/enterprises/{enterprise}/copilot/billing/seats"


async def org_billing(client: GitHubClient, org: str) -> OrgBilling:
    value, _ = await client.get(
        f"{client.api_url}/orgs/{org}/copilot/billing", ENDPOINT_ORG_BILLING, parse_org_billing
    )
    return value


async def seat_pages(client: GitHubClient, target: Target) -> list[SeatPage]:
    if target.kind == "org":
        path, endpoint = f"/orgs/{target.name}/copilot/billing/seats", ENDPOINT_ORG_SEATS
    else:
        path, endpoint = f"/enterprises/{target.name}/copilot/billing/seats", ENDPOINT_ENTERPRISE_SEATS

    def parse(body: object, number: int) -> SeatPage:
        return parse_seat_page(body, where=f"{endpoint} page {number}")

    return await client.get_pages(path, endpoint, parse)


async def read_target(client: GitHubClient, target: Target) -> tuple[list[SeatPage], OrgBilling | None]:
    """The seat pages and (organizations only) GitHub's billing summary."""
    billing: OrgBilling | None = None
    if target.kind == "org":
        billing_task = asyncio.ensure_future(org_billing(client, target.name))
        seats_task = asyncio.ensure_future(seat_pages(client, target))
        try:
            billing, pages = await asyncio.gather(billing_task, seats_task)
        except BaseException:
            # The poll is lost: stop spending requests (maybe hundreds of pages) on the other half.
            for task in (billing_task, seats_task):
                task.cancel()
            await asyncio.gather(billing_task, seats_task, return_exceptions=True)
            raise
    else:
        pages = await seat_pages(client, target)
    return pages, billing
