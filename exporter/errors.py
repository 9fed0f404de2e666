"""The exporter's exception hierarchy.

Every error the exporter raises on purpose derives from :class:`ExporterError`. GitHub failures carry a
short, stable ``reason`` that becomes a label value of ``github_copilot_poll_failures_total`` and a
``hint`` that tells the operator what to fix; neither ever contains a credential.
"""

from __future__ import annotations


class ExporterError(Exception):
    """Base class of every error raised by the exporter."""


class ConfigError(ExporterError):
    """The configuration is invalid; ``key`` names the offending setting."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}" if key else message)
        self.key = key
        self.message = message


class GitHubError(ExporterError):
    """A call to the GitHub API did not yield usable data."""

    reason = "error"
    hint = ""
    #: Whether trying the same request again soon may succeed.
    retryable = False
    #: Whether the failure is a lasting, normal state of the target rather than a fault (e.g. no
    #: billing of its own): logged at info instead of error, and not alerted on.
    expected = False

    def __init__(self, message: str, *, status: int | None = None, url: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.url = url

    def describe(self) -> str:
        text = str(self)
        return f"{text} ({self.hint})" if self.hint else text


class AccessError(GitHubError):
    """GitHub refused what a source reads (403, or Copilot unavailable): the refusal's reason, kept,
    with the source's own hint, which names the permission that source needs."""

    def __init__(self, cause: GitHubError, hint: str) -> None:
        super().__init__(str(cause), status=cause.status, url=cause.url)
        self.reason = cause.reason
        self.hint = hint


class TransportError(GitHubError):
    """Connection refused, reset, TLS failure: no HTTP answer at all."""

    reason = "connection"
    hint = "check network access to the GitHub API URL"
    retryable = True


class RequestTimeoutError(TransportError):
    reason = "timeout"
    hint = "GitHub did not answer in time; it will be retried"


class AuthenticationError(GitHubError):
    reason = "unauthorized"
    hint = "the token is invalid or expired: replace GITHUB_TOKEN or the token file"


class PermissionDeniedError(GitHubError):
    reason = "forbidden"
    hint = (
        "the token lacks access: a classic token needs manage_billing:copilot or read:org "
        "(read:enterprise for enterprises), a fine-grained token or app the organization permission "
        '"GitHub Copilot Business" or "Administration" (read), an app on an enterprise the enterprise '
        'permission "Enterprise Copilot license management"; only organization owners or enterprise '
        "billing managers see seats; with SAML single sign-on, authorize the token for the organization"
    )


class NotFoundError(GitHubError):
    reason = "not_found"
    hint = "check the organization or enterprise name, and that the API URL is right for your GitHub"


class CopilotUnavailableError(GitHubError):
    reason = "unprocessable"
    hint = "Copilot is not enabled for this organization, or its billing has a problem"


class RateLimitedError(GitHubError):
    reason = "rate_limited"
    hint = "the GitHub API rate limit is exhausted; polling resumes when it resets"
    retryable = True

    def __init__(self, message: str, *, retry_after: float, status: int | None = None, url: str = "") -> None:
        super().__init__(message, status=status, url=url)
        #: Seconds to wait before the next request, as GitHub asked.
        self.retry_after = retry_after


class ServerError(GitHubError):
    reason = "server_error"
    hint = "GitHub answered with a server error; it will be retried"
    retryable = True


class UnexpectedStatusError(GitHubError):
    reason = "unexpected_status"
    hint = "GitHub answered with a status the exporter does not expect"


class MalformedResponseError(GitHubError):
    reason = "malformed_response"
    hint = "GitHub's answer did not have the documented shape"


class DownloadRefusedError(MalformedResponseError):
    """A report link points somewhere the exporter does not download from; nothing was sent there."""

    reason = "download_refused"
    hint = (
        "report links are followed only to GitHub's report hosts for github.api_url; if GitHub moved "
        "them to a host of its own, add it to usage.allowed_download_hosts"
    )


class InconsistentDataError(GitHubError):
    """The pages of one poll contradict each other, e.g. ``total_seats`` changed mid-poll."""

    reason = "inconsistent"
    hint = "the seat list changed while it was read; the next poll will try again"
    retryable = True
