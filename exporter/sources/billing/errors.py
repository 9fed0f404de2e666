"""The billing source's own failures: GitHub's refusals, with the access billing needs as the hint."""

from __future__ import annotations

from exporter.errors import NotFoundError, PermissionDeniedError

BILLING_ACCESS = (
    "reading billing needs an organization owner or billing manager (for an enterprise: an enterprise "
    "owner or billing manager, with a classic token's manage_billing:enterprise or read:enterprise "
    'scope), a fine-grained token with the organization permission "Administration" (read), or a '
    "GitHub App installed with billing read access; billing.token_file may name a separate token for it"
)


class BillingPermissionError(PermissionDeniedError):
    """The credentials may read seats but not billing: only the billing source fails."""

    hint = BILLING_ACCESS


class BillingNotFoundError(NotFoundError):
    hint = (
        "GitHub has no billing for this target: check its name; an organization billed through its "
        "enterprise has no billing of its own (poll the enterprise, or set billing.enabled: auto)"
    )


class BillingNotApplicableError(NotFoundError):
    """``billing.enabled: auto`` and GitHub answered 404: this target has no billing of its own."""

    reason = "not_applicable"
    expected = True
    hint = (
        "GitHub has no billing of this target's own (an organization billed through its enterprise): "
        "its spend is in the enterprise's billing; set billing.enabled: false to stop asking"
    )
