"""The TOML configuration file as pydantic models.

Every model forbids unknown keys, so a typo is an error that names the key rather than a
setting silently ignored. :func:`load_config` turns validation failures into
:class:`ConfigError` whose lines name the file, the key and what is expected.

Validation is strict (no string-to-number coercion): TOML has real types, so `port = "5347"`
is a mistake worth reporting, not guessing at. What depends on the environment (whether the
variable named by `secret_env` is set, and so whether a gateway has a component secret at
all) is checked by :func:`parse_config`, not by the models.
"""

from __future__ import annotations

import base64
import binascii
import difflib
import os
import re
import tomllib
import types
from collections.abc import Mapping
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, Union, get_args, get_origin
from urllib.parse import unquote, urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from bridge.logsetup import register_secret

DATABASE_SCHEMES = ("sqlite+aiosqlite", "postgresql+asyncpg")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

_DNS_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_DOMAIN = re.compile(rf"{_DNS_LABEL}(?:\.{_DNS_LABEL})*")
# An entry-point name, or `package.module:callable` for a plugin that is not installed.
_NETWORK = re.compile(r"[A-Za-z0-9_.-]+|[A-Za-z_][\w.]*:[A-Za-z_][\w.]*")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MissingSecret(LookupError):
    """A secret the configuration points at is not there; str() says where to put it."""


def _resolve_secret(
    value: SecretStr | None, env_name: str | None, environ: Mapping[str, str]
) -> str | None:
    """The secret from the file or else from the environment, registered for log redaction."""
    secret = value.get_secret_value() if value is not None else None
    if secret is None and env_name:
        secret = environ.get(env_name) or None
    if secret is not None:
        register_secret(secret)
    return secret


def _jid_entry(entry: str) -> str:
    """A bare JID or domain from the file, lower-cased (JIDs compare case-insensitively)."""
    text = entry.strip().lower()
    if not text or "/" in text or any(c.isspace() for c in text):
        raise ValueError(f"{entry!r} is not a bare JID or a domain (no spaces, no /resource)")
    return text


class DatabaseConfig(_Strict):
    url: str = "sqlite+aiosqlite:///xmpp-bridge.db"
    """SQLAlchemy async URL: sqlite+aiosqlite:///path or postgresql+asyncpg://user:pw@host/db."""

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, url: str) -> str:
        scheme, separator, _ = url.partition("://")
        if scheme not in DATABASE_SCHEMES:
            accepted = " or ".join(f"{s}://" for s in DATABASE_SCHEMES)
            # Never echo a URL without a scheme: it may be all credentials.
            found = repr(scheme) if separator else "no scheme"
            raise ValueError(f"database URL must start with {accepted}, found {found}")
        return url

    def password(self) -> str | None:
        """The password inside the URL, if any (so it can be kept out of logs)."""
        password = urlsplit(self.url).password
        return unquote(password) if password else None


class SecretsConfig(_Strict):
    key: SecretStr | None = None
    """Key that encrypts stored secrets (Fernet, url-safe base64 of 32 bytes)."""
    key_env: str = "XMPP_BRIDGE_KEY"
    """Environment variable read when `key` is not in the file."""

    @field_validator("key")
    @classmethod
    def _fernet_key(cls, key: SecretStr | None) -> SecretStr | None:
        if key is not None and not is_fernet_key(key.get_secret_value()):
            raise ValueError("expected a Fernet key (url-safe base64 of 32 bytes)")
        return key

    def encryption_key(self, environ: Mapping[str, str]) -> str | None:
        """The key from the file, else from `key_env`; None when neither is set."""
        return _resolve_secret(self.key, self.key_env, environ)


def is_fernet_key(text: str) -> bool:
    """Whether *text* is url-safe base64 of exactly 32 bytes."""
    try:
        return len(base64.urlsafe_b64decode(text.encode("ascii"))) == 32
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return False


class HttpConfig(_Strict):
    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = Field(default=8480, ge=0, le=65535)
    public_url: str | None = None
    """The base URL XMPP clients reach the server at; default http://host:port."""
    media_ttl_seconds: int = Field(default=7 * 24 * 3600, ge=60)
    """How long an attachment link stays valid."""
    max_media_bytes: int = Field(default=100_000_000, ge=1)
    """The largest attachment the media proxy passes on."""

    @field_validator("public_url")
    @classmethod
    def _http_url(cls, url: str | None) -> str | None:
        if url is None:
            return None
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"expected an http:// or https:// URL, found {url!r}")
        if parts.query or parts.fragment:
            raise ValueError(f"expected a base URL without ?query or #fragment, found {url!r}")
        return url.rstrip("/")


class LoggingConfig(_Strict):
    level: str = "INFO"

    @field_validator("level")
    @classmethod
    def _known_level(cls, level: str) -> str:
        if level.upper() not in LOG_LEVELS:
            raise ValueError(f"expected one of {', '.join(LOG_LEVELS)}, found {level!r}")
        return level.upper()


class RegistrationPolicy(_Strict):
    allow: list[str] = []
    """Bare JIDs or domains that may register; empty means every user of every server."""

    @field_validator("allow")
    @classmethod
    def _jids_or_domains(cls, entries: list[str]) -> list[str]:
        return [_jid_entry(e) for e in entries]


class HostPolicyConfig(_Strict):
    allow: list[str] = []
    """Host patterns (fnmatch) users may reach; empty means any public host."""
    deny: list[str] = []
    """Host patterns users may never reach; checked before `allow`."""
    allow_private: bool = False
    """Allow loopback, private and link-local addresses (after DNS resolution)."""

    @field_validator("allow", "deny")
    @classmethod
    def _lower_case(cls, patterns: list[str]) -> list[str]:
        return [p.strip().lower() for p in patterns]


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

    @field_validator("domain")
    @classmethod
    def _dns_name(cls, domain: str) -> str:
        name = domain.strip().lower().rstrip(".")
        if len(name) > 253 or not _DOMAIN.fullmatch(name):
            raise ValueError(f"expected a DNS name such as irc.example.org, found {domain!r}")
        return name

    @field_validator("network")
    @classmethod
    def _plugin_reference(cls, network: str) -> str:
        if not _NETWORK.fullmatch(network):
            raise ValueError(
                "expected an installed network name (irc, matrix) or module:callable, "
                f"found {network!r}"
            )
        return network

    @field_validator("admins")
    @classmethod
    def _bare_jids(cls, admins: list[str]) -> list[str]:
        jids = [_jid_entry(a) for a in admins]
        for jid in jids:
            if "@" not in jid:
                raise ValueError(f"admins are bare JIDs (user@server), found the domain {jid!r}")
        return jids

    def component_secret(self, environ: Mapping[str, str]) -> str:
        """The XEP-0114 handshake secret; raises MissingSecret naming what to set."""
        secret = _resolve_secret(self.secret, self.secret_env, environ)
        if secret is not None:
            return secret
        if self.secret_env:
            raise MissingSecret(
                f"the environment variable {self.secret_env} (secret_env) is not set or empty"
            )
        raise MissingSecret(
            "no component secret: set `secret`, or `secret_env` to the name of an "
            "environment variable that holds it"
        )


class Config(_Strict):
    database: DatabaseConfig = DatabaseConfig()
    secrets: SecretsConfig = SecretsConfig()
    http: HttpConfig = HttpConfig()
    logging: LoggingConfig = LoggingConfig()
    gateway: list[GatewayConfig] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_domains(self) -> Config:
        first_seen: dict[str, int] = {}
        for number, gateway in enumerate(self.gateway, start=1):
            if gateway.domain in first_seen:
                raise ValueError(
                    f"[[gateway]] #{first_seen[gateway.domain]} and #{number} both use domain "
                    f'"{gateway.domain}"; each gateway needs its own domain'
                )
            first_seen[gateway.domain] = number
        return self


class ConfigError(Exception):
    """A configuration that cannot be used; str() is a list of lines a person can act on."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        super().__init__("\n".join(f"{path}: {p}" for p in problems))
        self.path = path
        self.problems = problems


def load_config(path: Path, environ: Mapping[str, str] | None = None) -> Config:
    """Read and check the TOML file at *path*; raises ConfigError listing every problem."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(path, ["file not found"]) from None
    except OSError as error:
        raise ConfigError(path, [f"cannot read the file: {error.strerror}"]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ConfigError(path, [f"not UTF-8 text (bad byte at offset {error.start})"]) from None
    return parse_config(text, path, environ)


def parse_config(text: str, path: Path, environ: Mapping[str, str] | None = None) -> Config:
    """Check TOML *text* as if read from *path*; secrets found are registered for redaction."""
    env = os.environ if environ is None else environ
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        # The message ends with "(at line L, column C)".
        raise ConfigError(path, [f"TOML syntax error: {error}"]) from None
    try:
        config = Config.model_validate(data, strict=True)
    except ValidationError as error:
        problems = [_describe(detail, data) for detail in error.errors()]
        raise ConfigError(path, problems) from None
    problems = []
    for number, gateway in enumerate(config.gateway, start=1):
        try:
            gateway.component_secret(env)
        except MissingSecret as missing:
            problems.append(f"{_gateway_label(number, gateway.domain)}: {missing}")
    if problems:
        raise ConfigError(path, problems)
    config.secrets.encryption_key(env)
    database_password = config.database.password()
    if database_password:
        register_secret(database_password)
    return config


def _gateway_label(number: int, domain: object) -> str:
    label = f"[[gateway]] #{number}"
    return f'{label} (domain "{domain}")' if isinstance(domain, str) else label


def _where(loc: tuple[int | str, ...], data: Mapping[str, Any]) -> str:
    """The key path as the user wrote it, e.g. `[[gateway]] #2 (domain "x") → limits.sessions`."""
    if len(loc) >= 2 and loc[0] == "gateway" and isinstance(loc[1], int):
        gateways = data.get("gateway")
        item = gateways[loc[1]] if isinstance(gateways, list) else None
        domain = item.get("domain") if isinstance(item, dict) else None
        label = _gateway_label(loc[1] + 1, domain)
        rest = _dotted(loc[2:])
        return f"{label} → {rest}" if rest else label
    return _dotted(loc)


def _dotted(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else part
    return text


def _model_at(loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The model whose table sits at *loc*, to list the keys it accepts."""
    model: Any = Config
    for part in loc:
        if isinstance(part, str):
            field = model.model_fields.get(part) if _is_model(model) else None
            if field is None:
                return None
            model = field.annotation
        model = _unwrap(model)
    return model if _is_model(model) else None


def _unwrap(annotation: Any) -> Any:
    """list[X] → X and X | None → X: the type one step inside a container."""
    origin = get_origin(annotation)
    if origin is list:
        return get_args(annotation)[0]
    if origin in (Union, types.UnionType):
        inner = [a for a in get_args(annotation) if a is not type(None)]
        return inner[0] if len(inner) == 1 else annotation
    return annotation


def _is_model(candidate: Any) -> bool:
    return isinstance(candidate, type) and issubclass(candidate, BaseModel)


def _is_secret(loc: tuple[int | str, ...]) -> bool:
    parent = _model_at(loc[:-1])
    field = parent.model_fields.get(str(loc[-1])) if parent and loc else None
    return field is not None and _unwrap(field.annotation) is SecretStr


_TOML_TYPES: tuple[tuple[type | tuple[type, ...], str], ...] = (
    (bool, "a boolean"),
    (int, "an integer"),
    (float, "a float"),
    (str, "a string"),
    (list, "an array"),
    (dict, "a table"),
    ((datetime, date, time), "a date/time"),
)


def _found(value: Any, hide: bool) -> str:
    kind = next((name for t, name in _TOML_TYPES if isinstance(value, t)), type(value).__name__)
    if hide or isinstance(value, list | dict):
        return kind
    if isinstance(value, bool):
        return "true" if value else "false"
    return f'"{value}"' if isinstance(value, str) else repr(value)


def _describe(detail: ErrorDetails, data: Mapping[str, Any]) -> str:
    loc = detail["loc"]
    where = _where(loc, data)
    prefix = f"{where}: " if where else ""
    kind = detail["type"]
    if loc == ("gateway",) and kind in ("missing", "too_short"):
        return "no [[gateway]] table: add at least one, with domain, network and secret"
    if loc == ("gateway",) and isinstance(detail["input"], dict):
        return "gateway: write each gateway as a [[gateway]] table (double brackets), not [gateway]"
    if kind == "missing":
        return f"{prefix}required key is missing"
    if kind == "extra_forbidden":
        return prefix + _unknown_key(loc)
    if kind == "value_error":
        return prefix + str(detail.get("ctx", {}).get("error", detail["msg"]))
    expected = detail["msg"].replace("Input should be", "expected", 1)
    found = _found(detail["input"], hide=_is_secret(loc))
    return f"{prefix}{expected}, found {found}"


def _unknown_key(loc: tuple[int | str, ...]) -> str:
    model = _model_at(loc[:-1])
    if model is None:
        return "unknown key"
    keys = list(model.model_fields)
    close = difflib.get_close_matches(str(loc[-1]), keys, n=1)
    hint = f' (did you mean "{close[0]}"?)' if close else ""
    return f"unknown key{hint}; keys accepted here: {', '.join(keys)}"
