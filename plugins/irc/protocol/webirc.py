"""The WEBIRC line, by which a trusted gateway tells the network its user's real host.

Networks that grant the gateway a WEBIRC block then ban and limit each user by their own
address rather than the whole gateway. The line must be the very first one sent.

XMPP users have no address the network should see, so each gets a pseudo one
(:func:`pseudo_identity`): stable, distinct per user, and saying nothing of their JID.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
from dataclasses import dataclass, field

from bridge.logsetup import register_secret
from plugins.irc.protocol.message import IrcMessage, cmd


def _middle_param(value: str) -> str:
    """IRCv3 WEBIRC: a value starting with ':' (IPv6 such as ``::1``) gets a leading 0."""
    return "0" + value if value.startswith(":") else value


@dataclass(frozen=True, slots=True)
class WebIrc:
    """WEBIRC settings: the block's password, the gateway's name, the user's host and IP."""

    password: str = field(repr=False)
    gateway: str
    hostname: str
    ip: str

    def __post_init__(self) -> None:
        for name in ("password", "gateway", "hostname"):
            value: str = getattr(self, name)
            if not value or any(char in value for char in " \r\n\0"):
                raise ValueError(f"WEBIRC {name} must be one word without spaces")
        try:
            ipaddress.ip_address(self.ip)
        except ValueError:
            raise ValueError(
                f"WEBIRC ip must be an IPv4 or IPv6 address, found {self.ip!r}"
            ) from None
        register_secret(self.password)

    def message(self) -> IrcMessage:
        return cmd(
            "WEBIRC",
            self.password,
            self.gateway,
            _middle_param(self.hostname),
            _middle_param(self.ip),
        )


def pseudo_identity(
    key: bytes, user: str, network: ipaddress.IPv6Network, domain: str
) -> tuple[str, str]:
    """``(hostname, ip)`` for *user* (a bare JID): an HMAC of the JID under *key* gives the
    address's host bits in *network* and the ``<opaque id>.<domain>`` hostname."""
    digest = hmac.new(key, user.encode(), hashlib.sha256).digest()
    host_bits = int.from_bytes(digest[:16]) & int(network.hostmask)
    opaque = base64.b32encode(digest[16:26]).decode("ascii").lower()
    return f"{opaque}.{domain}", str(network[host_bits])
