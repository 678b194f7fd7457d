"""A throw-away Synapse on loopback: SQLite, one client listener, no federation, no rate limits.

Synapse is not a Debian package here: it lives in its own virtual environment, which
`scripts/setup.sh` creates and names in XMPP_BRIDGE_SYNAPSE_PYTHON. This launcher only runs
it; it never installs anything.
"""

import base64
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from bridge.devservers.ports import LOOPBACK, free_port
from bridge.devservers.process import ManagedServer, ServerError, ServerProcess

SYNAPSE_PYTHON_VARIABLE = "XMPP_BRIDGE_SYNAPSE_PYTHON"
_INSTALL_HINT = (
    "run `bash scripts/test.sh`, which installs Synapse into its own virtual environment "
    f"and sets {SYNAPSE_PYTHON_VARIABLE} to its python"
)
_VERSIONS_PATH = "/_matrix/client/versions"
_REGISTER_PATH = "/_synapse/admin/v1/register"
_PROBE_TIMEOUT = 2.0
_REQUEST_TIMEOUT = 30.0
# Variables of the caller's Python that would make Synapse's interpreter load the wrong packages.
_FOREIGN_PYTHON_VARIABLES = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")

# Every client-side rate limiter of Synapse, by its config path: tests and benchmarks send
# bursts of logins, joins and messages that the defaults (a few per second) would refuse.
_RATE_LIMITS = (
    "rc_message",
    "rc_registration",
    "rc_registration_token_validity",
    "rc_login.address",
    "rc_login.account",
    "rc_login.failed_attempts",
    "rc_admin_redaction",
    "rc_joins.local",
    "rc_joins.remote",
    "rc_joins_per_room",
    "rc_key_requests",
    "rc_3pid_validation",
    "rc_invites.per_room",
    "rc_invites.per_user",
    "rc_invites.per_issuer",
    "rc_third_party_invite",
    "rc_media_create",
    "rc_presence.per_user",
    "rc_delayed_event_mgmt",
    "rc_room_creation",
    "rc_reports",
    "rc_user_directory",
    "rc_profile",
)
_UNLIMITED = {"per_second": 100_000, "burst_count": 1_000_000}


@dataclass(frozen=True)
class MatrixAccount:
    """A user created on the homeserver, with an access token of an already logged-in device."""

    user_id: str
    device_id: str
    access_token: str = field(repr=False)


def _rate_limits() -> dict[str, Any]:
    """The `rc_*` settings, nested as Synapse reads dotted paths such as rc_login.address."""
    settings: dict[str, Any] = {}
    for path in _RATE_LIMITS:
        *parents, leaf = path.split(".")
        level = settings
        for parent in parents:
            level = level.setdefault(parent, {})
        level[leaf] = dict(_UNLIMITED)
    return settings


def _signing_key_line() -> str:
    """A fresh ed25519 server signing key in Synapse's key file format (algorithm, id, seed)."""
    seed = base64.b64encode(secrets.token_bytes(32)).decode().rstrip("=")
    return f"ed25519 a_{secrets.token_hex(2)} {seed}\n"


def _write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read: the config and the key hold secrets."""
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text(text)


def _registration_mac(secret: str, nonce: str, username: str, password: str, admin: bool) -> str:
    """The HMAC-SHA1 the shared-secret registration API expects over its NUL-joined fields."""
    message = "\0".join((nonce, username, password, "admin" if admin else "notadmin"))
    return hmac.new(secret.encode(), message.encode(), hashlib.sha1).hexdigest()


async def _json_or_error(response: aiohttp.ClientResponse, what: str) -> dict[str, Any]:
    """The JSON body of a 200 answer; anything else becomes an error naming Synapse's reason."""
    try:
        body = await response.json(content_type=None)
    except (ValueError, aiohttp.ClientError):
        body = None
    if response.status != 200 or not isinstance(body, dict):
        reason = (
            f"{body.get('errcode')}: {body.get('error')}"
            if isinstance(body, dict)
            else "no JSON answer"
        )
        raise ServerError(f"{what} failed with HTTP {response.status} ({reason})")
    return body


async def register_with_shared_secret(
    base_url: str, secret: str, username: str, password: str, *, admin: bool = False
) -> MatrixAccount:
    """Create a user through Synapse's admin API, signed with the registration shared secret."""
    url = base_url + _REGISTER_PATH
    what = f"registering Matrix user {username!r}"
    timeout = aiohttp.ClientTimeout(total=_REQUEST_TIMEOUT)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        async with session.get(url) as response:
            nonce = (await _json_or_error(response, f"{what} (nonce)"))["nonce"]
        request = {
            "nonce": nonce,
            "username": username,
            "password": password,
            "admin": admin,
            "mac": _registration_mac(secret, nonce, username, password, admin),
        }
        async with session.post(url, json=request) as response:
            answer = await _json_or_error(response, what)
    return MatrixAccount(answer["user_id"], answer["device_id"], answer["access_token"])


class Synapse(ManagedServer):
    """Synapse run in the foreground from a config written into `workdir`.

    Storage is an SQLite file in `workdir`, so stopping and starting the same instance keeps
    its users and rooms. Users are created with `register_user` (shared-secret admin API);
    open registration is off. `python` is the interpreter of Synapse's virtual environment,
    by default the one named by XMPP_BRIDGE_SYNAPSE_PYTHON.
    """

    def __init__(
        self,
        workdir: Path,
        server_name: str = "matrix.localhost",
        *,
        python: str | None = None,
        startup_timeout: float = 60.0,
    ) -> None:
        if not server_name or not server_name.isprintable() or any(c in server_name for c in "/@ "):
            raise ServerError(f"Synapse server_name {server_name!r} must be a host name")
        self.workdir = workdir
        self.server_name = server_name
        self.python = python if python is not None else os.environ.get(SYNAPSE_PYTHON_VARIABLE)
        self.registration_secret = secrets.token_urlsafe(32)
        self._macaroon_secret = secrets.token_urlsafe(32)
        self._form_secret = secrets.token_urlsafe(32)
        self.port = free_port()
        self.base_url = f"http://{LOOPBACK}:{self.port}"
        self.config_path = workdir / "homeserver.yaml"
        self.log_config_path = workdir / "log.config"
        self.signing_key_path = workdir / "signing.key"
        self.log_path = workdir / "synapse.log"
        self._process = ServerProcess(
            "synapse",
            [],
            log_path=self.log_path,
            ports=[self.port],
            cwd=workdir,
            probe=self._serves_client_api,
            startup_timeout=startup_timeout,
            stop_timeout=10.0,
        )

    @property
    def pid(self) -> int | None:
        return self._process.pid

    async def start(self) -> None:
        """Write the config and start Synapse; return once the client API answers."""
        self._process.argv = [
            self._checked_python(),
            "-m",
            "synapse.app.homeserver",
            "--config-path",
            str(self.config_path),
        ]
        self._process.env = {
            name: value
            for name, value in os.environ.items()
            if name not in _FOREIGN_PYTHON_VARIABLES
        }
        if not self.signing_key_path.exists():  # kept across restarts, like the database
            _write_private(self.signing_key_path, _signing_key_line())
        # JSON is YAML, and json.dumps quotes every value safely.
        self.log_config_path.write_text(json.dumps(self._log_config(), indent=2))
        _write_private(self.config_path, json.dumps(self._config(), indent=2))
        await self._process.start()

    async def stop(self) -> None:
        await self._process.stop()

    async def register_user(
        self, username: str, password: str, *, admin: bool = False
    ) -> MatrixAccount:
        """Create a user on this server and return it logged in on a fresh device."""
        return await register_with_shared_secret(
            self.base_url, self.registration_secret, username, password, admin=admin
        )

    def _checked_python(self) -> str:
        if self.python is None:
            raise ServerError(
                f"no Python for Synapse: {SYNAPSE_PYTHON_VARIABLE} is unset; {_INSTALL_HINT}"
            )
        if not os.access(self.python, os.X_OK):
            raise ServerError(
                f"Synapse's Python {self.python} is not an executable; {_INSTALL_HINT}"
            )
        return self.python

    async def _serves_client_api(self, port: int) -> bool:
        timeout = aiohttp.ClientTimeout(total=_PROBE_TIMEOUT)
        url = f"http://{LOOPBACK}:{port}{_VERSIONS_PATH}"
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.get(url) as answer,
            ):
                return answer.status == 200
        except (aiohttp.ClientError, TimeoutError):
            return False

    def _config(self) -> dict[str, Any]:
        return {
            "server_name": self.server_name,
            "public_baseurl": self.base_url + "/",
            "pid_file": None,
            "listeners": [
                {
                    "port": self.port,
                    "bind_addresses": [LOOPBACK],
                    "type": "http",
                    "tls": False,
                    "x_forwarded": False,
                    "resources": [{"names": ["client"], "compress": False}],
                }
            ],
            "database": {
                "name": "sqlite3",
                "args": {"database": str(self.workdir / "homeserver.db")},
            },
            "log_config": str(self.log_config_path),
            "media_store_path": str(self.workdir / "media_store"),
            "signing_key_path": str(self.signing_key_path),
            "registration_shared_secret": self.registration_secret,
            "macaroon_secret_key": self._macaroon_secret,
            "form_secret": self._form_secret,
            "enable_registration": False,
            "report_stats": False,
            "enable_metrics": False,
            "url_preview_enabled": False,
            "trusted_key_servers": [],
            "suppress_key_server_warning": True,
            **_rate_limits(),
        }

    def _log_config(self) -> dict[str, Any]:
        """Python logging to stderr, which the launcher appends to `log_path`."""
        return {
            "version": 1,
            "formatters": {"plain": {"format": "%(asctime)s %(name)s %(levelname)s %(message)s"}},
            "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "plain"}},
            "loggers": {"synapse.storage.SQL": {"level": "WARNING"}},
            "root": {"level": "INFO", "handlers": ["stderr"]},
            "disable_existing_loggers": False,
        }
