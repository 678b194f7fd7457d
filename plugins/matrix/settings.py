"""What an operator configures for a Matrix gateway and what a user registers with it.

The password is asked once, to log in; what is stored is the access token and device id
the login gave (sealed at rest by the core, never shown in a form), never the password.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from bridge.addressing import AddressError
from bridge.forms import NOT_IN_FORMS
from plugins.matrix.addresses import contact_of

SYNC_SCOPE = "matrix:sync"
"""The UserStore scope of the sync position (next_batch) a restart resumes from."""
DEFAULT_DEVICE_NAME = "XMPP bridge"


class MatrixOptions(BaseModel):
    """The operator's `[gateway.options]` for a Matrix gateway."""

    model_config = ConfigDict(extra="forbid")

    timeline_limit: int = Field(default=500, ge=1, le=10_000)
    """Timeline events per room in one /sync; more than that is fetched with /messages."""
    sync_timeout_ms: int = Field(default=30_000, ge=0, le=120_000)
    """How long one /sync waits on the homeserver for something to happen."""


def _homeserver_url(value: str) -> str:
    url = value.strip().rstrip("/")
    if not url:
        return ""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError(
            f"must be an http:// or https:// URL such as https://matrix.org (got {value!r})"
        )
    if parts.query or parts.fragment:
        raise ValueError(f"must be the homeserver's base URL, without ? or # (got {value!r})")
    try:
        parts.port  # noqa: B018  (urlsplit checks the port only when asked)
    except ValueError:
        raise ValueError(
            f"has a port that is not a number from 1 to 65535 (got {value!r})"
        ) from None
    return url


class MatrixRegistration(BaseModel):
    """The XEP-0077 form of a Matrix gateway, and the stored registration."""

    homeserver: str = Field(
        default="",
        title="Homeserver URL",
        description="Leave empty to find it from your Matrix ID's server (.well-known).",
    )
    matrix_id: str = Field(title="Matrix ID", description="Your full Matrix ID: @you:example.org")
    password: SecretStr = Field(
        default=SecretStr(""),
        title="Password",
        description="Used once to log in; the gateway keeps an access token, not the password.",
    )
    device_name: str = Field(
        default=DEFAULT_DEVICE_NAME,
        title="Device name",
        description="How this gateway's session appears among your Matrix devices.",
    )
    access_token: SecretStr = Field(default=SecretStr(""), json_schema_extra=NOT_IN_FORMS)
    device_id: SecretStr = Field(default=SecretStr(""), json_schema_extra=NOT_IN_FORMS)

    @field_validator("homeserver")
    @classmethod
    def _check_homeserver(cls, value: str) -> str:
        return _homeserver_url(value)

    @field_validator("matrix_id")
    @classmethod
    def _check_matrix_id(cls, value: str) -> str:
        text = value.strip()
        text = text if text.startswith("@") else f"@{text}"
        try:
            contact_of(text)
        except AddressError:
            raise ValueError(f"must look like @you:example.org (got {value!r})") from None
        return text

    @property
    def server_name(self) -> str:
        """The server part of the Matrix ID, where discovery starts."""
        return self.matrix_id.partition(":")[2]


class SyncPosition(BaseModel):
    """Where the last fully processed /sync ended (scope :data:`SYNC_SCOPE`)."""

    next_batch: str
