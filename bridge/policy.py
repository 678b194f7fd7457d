"""The operator's policy: who may register, which hosts users may reach, how fast they may go.

Everything here is pure decision-making over the configuration; the services that receive
stanzas or dial legacy servers ask these objects and turn a refusal into an XMPP error.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from fnmatch import fnmatchcase

from bridge.config import GatewayConfig, HostPolicyConfig, RegistrationPolicy
from bridge.errors import BadRequest, Forbidden, NotConnected


def canonical_bare_jid(jid: str) -> str:
    """*jid* without its resource, lower-cased, without a trailing dot on the domain.

    Local parts and domains compare case-insensitively (RFC 7622), resources do not, and
    a resource plays no part in who someone is.
    """
    bare = jid.partition("/")[0].strip().lower()
    local, at, domain = bare.rpartition("@")
    return f"{local}{at}{domain.rstrip('.')}"


class RegistrationGate:
    """Who may register with the gateway: listed bare JIDs, and every user of listed domains."""

    def __init__(self, policy: RegistrationPolicy) -> None:
        self.update(policy)

    def update(self, policy: RegistrationPolicy) -> None:
        """Take a reloaded policy (the `reload` admin command)."""
        entries = {canonical_bare_jid(entry) for entry in policy.allow}
        self._jids = {e for e in entries if "@" in e}
        self._domains = entries - self._jids
        self._open = not entries

    def allows(self, bare_jid: str) -> bool:
        if self._open:
            return True
        jid = canonical_bare_jid(bare_jid)
        return jid in self._jids or jid.rpartition("@")[2] in self._domains

    def refusal_text(self, jid: str) -> str:
        return (
            f"{canonical_bare_jid(jid)} may not register here: this gateway's operator admits "
            "only the users and servers on its list. Ask the operator to add you."
        )


def is_admin(config: GatewayConfig, bare_jid: str) -> bool:
    """Whether *bare_jid* is one of the gateway's administrators (exact bare JIDs only)."""
    jid = canonical_bare_jid(bare_jid)
    return any(canonical_bare_jid(admin) == jid for admin in config.admins)


def _refused_kind(address: str) -> str | None:
    """Why *address* may not be dialled without allow_private, or None when it is public."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    checks = (
        ("loopback", ip.is_loopback),
        ("unspecified", ip.is_unspecified),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved),
        ("not publicly routable", not ip.is_global),
    )
    return next((kind for kind, hit in checks if hit), None)


class HostPolicy:
    """The operator's rules on the legacy hosts users may reach (a bridge.network.HostResolver).

    Name rules come first (`deny`, then `allow`), so a refused name never causes a DNS
    query. Then every resolved address is checked, so that a public-looking name pointing
    at 127.0.0.1 or an internal network cannot turn the gateway into a way in (SSRF).
    Refused addresses are dropped and the rest returned; the caller dials only those.

    A name that does not exist raises :class:`BadRequest` (modify/bad-request): the user
    typed something wrong and must change it, which is what that condition tells a client.
    A resolver that fails or does not answer in time raises :class:`NotConnected`
    (wait/remote-server-timeout): nothing is wrong with the request, trying later may work.
    """

    def __init__(self, config: HostPolicyConfig, *, resolve_timeout: float = 10.0) -> None:
        self._config = config
        self._resolve_timeout = resolve_timeout

    def update(self, config: HostPolicyConfig) -> None:
        """Take reloaded rules; connections already made are not affected."""
        self._config = config

    async def resolve(self, host: str, port: int) -> list[str]:
        name = host.strip().lower().rstrip(".")
        if not name:
            raise BadRequest("No server name given.")
        if not 1 <= port <= 65535:
            raise BadRequest(f"Port {port} of {name} is not a TCP port (1 to 65535).")
        self._check_name(name)
        addresses = await self._lookup(name, port)
        if self._config.allow_private:
            return addresses
        refused = {address: _refused_kind(address) for address in addresses}
        allowed = [address for address, kind in refused.items() if kind is None]
        if not allowed:
            address, kind = next(iter(refused.items()))
            raise Forbidden(
                f"{name} resolves to {address}, a {kind} address; the operator does not "
                "allow connections to such addresses (hosts.allow_private)."
            )
        return allowed

    def _check_name(self, name: str) -> None:
        denied = next((p for p in self._config.deny if fnmatchcase(name, p.lower())), None)
        if denied is not None:
            raise Forbidden(f"The operator forbids connections to {name} (hosts.deny {denied!r}).")
        allow = self._config.allow
        if allow and not any(fnmatchcase(name, p.lower()) for p in allow):
            raise Forbidden(
                f"{name} is not among the hosts the operator allows (hosts.allow: "
                f"{', '.join(allow)})."
            )

    async def _lookup(self, name: str, port: int) -> list[str]:
        try:  # an address already: no trip to the resolver's thread
            return [str(ipaddress.ip_address(name))]
        except ValueError:
            pass
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self._resolve_timeout):
                infos = await loop.getaddrinfo(name, port, type=socket.SOCK_STREAM)
        except TimeoutError:
            raise NotConnected(f"The name server did not answer for {name}; try later.") from None
        except socket.gaierror as error:
            if error.errno in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", None)):
                raise BadRequest(f"No such host: {name} does not exist in DNS.") from None
            raise NotConnected(f"Could not look up {name} ({error.strerror}); try later.") from None
        # Keep the resolver's order (it reflects address preference), without repeats.
        return list(dict.fromkeys(str(info[4][0]) for info in infos))


# An empty bucket is full again after this long, whatever the rate.
_REFILL_SECONDS = 60.0


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """A token bucket per key (e.g. per user): *per_minute* messages, in bursts up to that.

    Memory stays bounded by the keys seen within one refill period: a key idle long enough
    for its bucket to be full again is forgotten, which changes nothing for it, since a new
    bucket starts full.
    """

    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self.set_rate(per_minute)

    def set_rate(self, per_minute: int) -> None:
        if per_minute < 1:
            raise ValueError(f"per_minute must be at least 1, found {per_minute}")
        self._capacity = float(per_minute)
        self._per_second = per_minute / _REFILL_SECONDS

    def allow(self, key: str) -> bool:
        """Take one token for *key*; False when the key has used up its rate."""
        now = self._clock()
        self._forget_idle(now)
        bucket = self._buckets.pop(key, None) or _Bucket(self._capacity, now)
        elapsed = max(0.0, now - bucket.updated)
        bucket.tokens = min(self._capacity, bucket.tokens + elapsed * self._per_second)
        bucket.updated = now
        self._buckets[key] = bucket  # most recently used last
        if bucket.tokens < 1.0:
            return False
        bucket.tokens -= 1.0
        return True

    def tracked_keys(self) -> int:
        """How many keys are remembered (for metrics, and to show memory stays bounded)."""
        return len(self._buckets)

    def _forget_idle(self, now: float) -> None:
        while self._buckets:
            oldest = next(iter(self._buckets.values()))
            if now - oldest.updated < _REFILL_SECONDS:
                return
            self._buckets.popitem(last=False)
