"""The operator's policy: registration allowlist, reachable hosts (SSRF), rate limits, admins."""

from __future__ import annotations

import asyncio

import pytest

from bridge.config import GatewayConfig, HostPolicyConfig, RegistrationPolicy
from bridge.errors import BadRequest, Forbidden
from bridge.policy import HostPolicy, RateLimiter, RegistrationGate, is_admin

# A public address given literally: getaddrinfo answers it without asking DNS.
PUBLIC = "8.8.8.8"


def gate(*allow: str) -> RegistrationGate:
    return RegistrationGate(RegistrationPolicy(allow=list(allow)))


def test_empty_allowlist_admits_everyone() -> None:
    assert gate().allows("anyone@anywhere.example")


def test_listed_jid_admitted_whatever_the_case_and_resource() -> None:
    allowlist = gate("Alice@Example.org")
    assert allowlist.allows("alice@example.org")
    assert allowlist.allows("ALICE@EXAMPLE.ORG/phone")
    assert not allowlist.allows("bob@example.org")


def test_domain_entry_admits_every_user_of_that_domain_only() -> None:
    allowlist = gate("example.org")
    assert allowlist.allows("bob@Example.org")
    assert not allowlist.allows("bob@evil-example.org")
    assert not allowlist.allows("bob@sub.example.org")
    assert not allowlist.allows("example.org@elsewhere.net")


def test_refusal_text_names_the_user_and_what_to_do() -> None:
    text = gate("example.org").refusal_text("Mallory@evil.example/laptop")
    assert "mallory@evil.example" in text and "operator" in text


def test_is_admin_compares_bare_jids_case_insensitively() -> None:
    config = GatewayConfig(domain="irc.example.org", network="irc", admins=["Root@Example.org"])
    assert is_admin(config, "root@example.org/desktop")
    assert not is_admin(config, "user@example.org")


def hosts(**settings: object) -> HostPolicy:
    return HostPolicy(HostPolicyConfig.model_validate(settings))


async def test_public_address_is_allowed_by_default() -> None:
    assert await hosts().resolve(PUBLIC, 6667) == [PUBLIC]


async def test_an_address_is_checked_without_the_resolver(monkeypatch: pytest.MonkeyPatch) -> None:
    async def no_resolver(*_args: object, **_kwargs: object) -> list[object]:
        raise AssertionError("getaddrinfo asked for an address")

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", no_resolver)
    assert await hosts(allow_private=True).resolve("127.0.0.1", 6667) == ["127.0.0.1"]
    with pytest.raises(Forbidden, match="loopback"):
        await hosts().resolve("::1", 6667)


async def test_deny_is_checked_before_allow() -> None:
    policy = hosts(allow=["*.example.org", "8.8.*"], deny=["bad.example.org", "8.8.8.8"])
    with pytest.raises(Forbidden, match=r"bad\.example\.org.*hosts\.deny"):
        await policy.resolve("BAD.example.org", 6667)
    with pytest.raises(Forbidden, match=r"8\.8\.8\.8.*hosts\.deny"):
        await policy.resolve(PUBLIC, 6667)
    assert await policy.resolve("8.8.4.4", 6667) == ["8.8.4.4"]


async def test_host_outside_the_allowlist_is_refused() -> None:
    with pytest.raises(Forbidden, match=r"1\.1\.1\.1 is not among the hosts.*irc\.\*"):
        await hosts(allow=["irc.*"]).resolve("1.1.1.1", 6667)


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("10.1.2.3", "private"),
        ("192.168.1.1", "private"),
        ("fd00::1", "private"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("0.0.0.0", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("100.64.0.1", "not publicly routable"),
    ],
)
async def test_non_public_addresses_refused_by_default(address: str, kind: str) -> None:
    with pytest.raises(Forbidden, match=f"a {kind} address") as refused:
        await hosts().resolve(address, 6667)
    assert "allow_private" in refused.value.text


async def test_name_resolving_to_loopback_is_refused_by_default() -> None:
    """The SSRF case: a name, not an address, that leads into the gateway's own host."""
    with pytest.raises(Forbidden, match=r"localhost resolves to .*loopback"):
        await hosts().resolve("localhost", 6667)


async def test_private_addresses_allowed_when_configured() -> None:
    policy = hosts(allow_private=True)
    assert "127.0.0.1" in await policy.resolve("localhost", 6667)
    assert await policy.resolve("10.1.2.3", 6667) == ["10.1.2.3"]


async def test_unknown_host_is_a_bad_request() -> None:
    with pytest.raises(BadRequest, match=r"No such host: nothing-here\.invalid"):
        await hosts().resolve("nothing-here.invalid", 6667)


async def test_port_out_of_range_is_a_bad_request() -> None:
    with pytest.raises(BadRequest, match="70000"):
        await hosts().resolve(PUBLIC, 70000)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_rate_limiter_allows_a_burst_then_refills_over_time() -> None:
    clock = FakeClock()
    limiter = RateLimiter(per_minute=60, clock=clock)
    assert all(limiter.allow("alice@example.org") for _ in range(60))
    assert not limiter.allow("alice@example.org")
    assert limiter.allow("bob@example.org")  # each user has their own bucket
    clock.now += 1.0  # one message per second comes back
    assert limiter.allow("alice@example.org")
    assert not limiter.allow("alice@example.org")


def test_rate_limiter_forgets_idle_keys() -> None:
    clock = FakeClock()
    limiter = RateLimiter(per_minute=10, clock=clock)
    for number in range(1000):
        limiter.allow(f"user{number}@example.org")
    assert limiter.tracked_keys() == 1000
    clock.now += 61.0
    assert limiter.allow("late@example.org")
    assert limiter.tracked_keys() == 1
