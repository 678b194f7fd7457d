"""What operators preset and users configure, with Biboumi's names so habits carry over."""

from __future__ import annotations

import codecs
import hashlib
import ipaddress
import os
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

from plugins.irc.tls import normalise_fingerprint


def _ports(values: list[str]) -> list[str]:
    cleaned = [v.strip() for v in values if v.strip()]
    for value in cleaned:
        if not value.isdigit() or not 1 <= int(value) <= 65535:
            raise ValueError(f"'{value}' is not a port number (1 to 65535)")
    return cleaned


def _fingerprint(value: str) -> str:
    return normalise_fingerprint(value) if value.strip() else ""


def _encoding(value: str) -> str:
    if value:
        try:
            codecs.lookup(value)
        except LookupError:
            raise ValueError(f"'{value}' is not an encoding Python knows (try latin-1)") from None
    return value


Encoding = Annotated[str, AfterValidator(_encoding)]
"""An encoding name Python knows, or empty; checked wherever the field is used (the core
merges room fields into its own model, which keeps validators only in the annotation)."""


def _readable_file(path: Path | None) -> Path | None:
    if path is not None and not (path.is_file() and os.access(path, os.R_OK)):
        raise ValueError(f"{path} is not a readable file")
    return path


class IrcRegistration(BaseModel):
    """XEP-0077 on the gateway: the defaults for every IRC server."""

    model_config = ConfigDict(populate_by_name=True)

    nick: str = Field("", title="Nick", description="Your nick on every server, unless set there.")
    username: str = Field("", title="User name", description="The ident/user part of your mask.")
    realname: str = Field("", title="Real name", description="Shown by /whois.")


class ServerSettings(BaseModel):
    """Per user and per server: the `configure` command and XEP-0077 on `server@gw`."""

    model_config = ConfigDict(populate_by_name=True)

    address: str = Field("", title="Address", description="Host to dial; the server name if empty.")
    ports: list[str] = Field(["6667"], title="Ports", description="Plain-text ports, one per line.")
    tls_ports: list[str] = Field(
        ["6697"], title="TLS ports", description="Tried before plain ones."
    )
    verify_cert: bool = Field(True, title="Verify certificate")
    fingerprint: str = Field(
        "", title="Pinned fingerprint", description="SHA-256 or SHA-1 of the server certificate."
    )
    sasl_password: SecretStr = Field(
        SecretStr(""), title="SASL password", description="Log in to your account with SASL PLAIN."
    )
    sasl_mechanism: Literal["PLAIN", "EXTERNAL"] = Field(
        "PLAIN",
        title="SASL mechanism",
        description="EXTERNAL: log in with the client certificate the operator set here.",
    )
    nick: str = Field("", title="Nick")
    server_password: SecretStr = Field(SecretStr(""), alias="pass", title="Server password (PASS)")
    after_connect_commands: list[str] = Field(
        [], title="After-connect commands", description="Raw IRC lines sent once connected."
    )
    username: str = Field("", title="User name")
    realname: str = Field("", title="Real name")
    throttle_limit: int = Field(
        10, ge=-1, title="Throttle limit", description="Lines sent at once before pacing; -1: none."
    )
    encoding_in: Encoding = Field("", title="Incoming encoding", description="For non-UTF-8 text.")
    encoding_out: Encoding = Field("", title="Outgoing encoding", description="UTF-8 if empty.")

    _check_ports = field_validator("ports", "tls_ports")(_ports)
    _check_fingerprint = field_validator("fingerprint")(_fingerprint)

    @model_validator(mode="after")
    def _some_port(self) -> Self:
        if not self.ports and not self.tls_ports:
            raise ValueError("give at least one port: in 'Ports' or 'TLS ports'")
        return self


class ChannelSettings(BaseModel):
    """Per user and per channel (Biboumi's channel `configure`), for channels not in UTF-8."""

    encoding_in: Encoding = Field(
        "",
        title="Incoming encoding",
        description="For text that is not UTF-8; the server's if empty.",
    )
    encoding_out: Encoding = Field(
        "", title="Outgoing encoding", description="The server's (UTF-8 by default) if empty."
    )


class NetworkPreset(BaseModel):
    """An operator's preset for one server name (`[gateway.options.networks."name"]`)."""

    model_config = ConfigDict(extra="forbid")

    address: str = ""
    ports: list[int] = [6667]
    tls_ports: list[int] = [6697]
    verify_cert: bool = True
    fingerprint: str = ""
    throttle_limit: int = Field(10, ge=-1)
    """Lines sent at once before pacing to one per second, -1 for none: the default of users
    who did not set their own (a LAN server with no flood limit can take -1)."""
    webirc_password: SecretStr | None = None
    webirc_domain: str = ""
    """The gateway's domain: users' WebIRC hosts are `<opaque id>.<webirc_domain>`."""
    webirc_prefix: ipaddress.IPv6Network | None = None
    """Users' WebIRC addresses; a ULA /64 derived from `webirc_domain` if unset."""
    client_certfile: Path | None = None
    client_keyfile: Path | None = None
    """The client certificate users who choose SASL EXTERNAL present (a key file may be left
    out when the certificate file holds the key)."""

    _check_fingerprint = field_validator("fingerprint")(_fingerprint)
    _check_files = field_validator("client_certfile", "client_keyfile")(_readable_file)

    @model_validator(mode="after")
    def _dialable(self) -> Self:
        ports = [*self.ports, *self.tls_ports]
        if not ports:
            raise ValueError("give at least one port in `ports` or `tls_ports`")
        if not all(1 <= port <= 65535 for port in ports):
            raise ValueError(f"ports must be between 1 and 65535, found {ports}")
        if self.client_keyfile is not None and self.client_certfile is None:
            raise ValueError("`client_keyfile` needs its certificate: set `client_certfile`")
        if self.webirc_password is not None and not self.webirc_domain:
            raise ValueError(
                "`webirc_password` needs `webirc_domain`, the gateway's domain, which ends the"
                " hostnames users are shown with"
            )
        if self.webirc_prefix is not None and self.webirc_prefix.prefixlen > 64:
            raise ValueError(f"`webirc_prefix` must be a /64 or larger, found {self.webirc_prefix}")
        return self

    def webirc_network(self) -> ipaddress.IPv6Network:
        """The prefix users' addresses are in: the operator's, or a ULA /64 (RFC 4193)
        whose global id comes from the gateway's domain, so it is stable and unlikely shared."""
        if self.webirc_prefix is not None:
            return self.webirc_prefix
        global_id = hashlib.sha256(self.webirc_domain.encode()).digest()[:5]
        return ipaddress.IPv6Network((b"\xfd" + global_id + bytes(10), 64))


class IrcOptions(BaseModel):
    """`[gateway.options]` of an IRC gateway."""

    model_config = ConfigDict(extra="forbid")

    fixed_server: str | None = None
    """Every JID is on this server: `#chan@gw`, `nick@gw`."""
    networks: dict[str, NetworkPreset] = {}
    realname: str = "xmpp-bridge user"
    identd_port: int | None = Field(None, ge=1, le=65535)
    reconnect_cap: float = Field(300.0, gt=0)
    """Longest wait between reconnection attempts, in seconds."""
    idle_server_grace: float = Field(30.0, ge=0)
    """Seconds a connection to a server stays open once the user is in none of its channels,
    watches none of its nicks and has had no private chat there for 10 minutes."""
    connecting_per_server: int = Field(10, ge=1)
    """Connections to one server address dialling and registering at once; the others wait
    (after a restart every user reconnects together)."""
