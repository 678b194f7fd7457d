"""The TOML configuration file as pydantic models.

Every model forbids unknown keys, so a typo is an error that names the key rather than a
setting silently ignored. :func:`load_config` turns validation failures into
:class:`ConfigError` whose lines name the file, the key and what is expected.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatabaseConfig(_Strict):
    url: str = "sqlite+aiosqlite:///xmpp-bridge.db"
    """SQLAlchemy async URL: sqlite+aiosqlite:///path or postgresql+asyncpg://user:pw@host/db."""


class SecretsConfig(_Strict):
    key: SecretStr | None = None
    """Key that encrypts stored secrets (Fernet, url-safe base64 of 32 bytes)."""
    key_env: str = "XMPP_BRIDGE_KEY"
    """Environment variable read when `key` is not in the file."""


class HttpConfig(_Strict):
    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = Field(default=8480, ge=0, le=65535)


class LoggingConfig(_Strict):
    level: str = "INFO"


class RegistrationPolicy(_Strict):
    allow: list[str] = []
    """Bare JIDs or domains that may register; empty means every user of every server."""


class HostPolicyConfig(_Strict):
    allow: list[str] = []
    """Host patterns (fnmatch) users may reach; empty means any public host."""
    deny: list[str] = []
    """Host patterns users may never reach; checked before `allow`."""
    allow_private: bool = False
    """Allow loopback, private and link-local addresses (after DNS resolution)."""


class LimitsConfig(_Strict):
    rooms_per_user: int = Field(default=100, ge=1)
    sessions: int = Field(default=10_000, ge=1)
    messages_per_minute: int = Field(default=300, ge=1)
    max_body_bytes: int = Field(default=64_000, ge=512)


class GatewayConfig(_Strict):
    domain: str
    network: str
    """Entry-point name of the network plugin (`irc`, `matrix`), or `module:callable`."""
    server_host: str = "127.0.0.1"
    server_port: int = Field(default=5347, ge=1, le=65535)
    secret: SecretStr | None = None
    secret_env: str | None = None
    name: str | None = None
    admins: list[str] = []
    registration: RegistrationPolicy = RegistrationPolicy()
    hosts: HostPolicyConfig = HostPolicyConfig()
    limits: LimitsConfig = LimitsConfig()
    options: dict[str, Any] = {}
    """Network-specific options, handed to the plugin as they are."""


class Config(_Strict):
    database: DatabaseConfig = DatabaseConfig()
    secrets: SecretsConfig = SecretsConfig()
    http: HttpConfig = HttpConfig()
    logging: LoggingConfig = LoggingConfig()
    gateway: list[GatewayConfig] = Field(min_length=1)


class ConfigError(Exception):
    """A configuration that cannot be used; str() is a list of lines a person can act on."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        super().__init__("\n".join(f"{path}: {p}" for p in problems))
        self.path = path
        self.problems = problems


def load_config(path: Path) -> Config:  # completed in the config work; placeholder signature
    raise NotImplementedError
