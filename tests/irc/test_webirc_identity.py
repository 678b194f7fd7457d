"""WebIRC that tells users apart: a stable pseudo-address per user that hides the JID."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from bridge.network import LoginContext
from plugins.irc.network import IrcNetwork
from plugins.irc.protocol.webirc import pseudo_identity
from plugins.irc.settings import NetworkPreset
from tests.irc.loopback import Loopback
from tests.memory_store import MemoryStore

PREFIX = ipaddress.IPv6Network("fd12:3456:789a::/64")
KEY = bytes(range(32))


def test_each_user_gets_a_stable_address_in_the_prefix_and_a_host_under_the_domain() -> None:
    alice = pseudo_identity(KEY, "alice@example.org", PREFIX, "irc.gw.example")
    assert alice == pseudo_identity(KEY, "alice@example.org", PREFIX, "irc.gw.example")
    bob = pseudo_identity(KEY, "bob@example.org", PREFIX, "irc.gw.example")
    assert bob[0] != alice[0] and bob[1] != alice[1]
    hostname, ip = alice
    assert ipaddress.IPv6Address(ip) in PREFIX
    opaque, _, domain = hostname.partition(".")
    assert domain == "irc.gw.example" and opaque.isalnum()
    assert "alice" not in hostname and "example.org" not in hostname
    other_key = pseudo_identity(bytes(32), "alice@example.org", PREFIX, "irc.gw.example")
    assert other_key != alice  # whoever lacks the key cannot compute (or check) it


def test_without_a_prefix_each_gateway_domain_gets_its_own_ula_64() -> None:
    one = NetworkPreset(webirc_password="pw", webirc_domain="irc.one.example").webirc_network()
    two = NetworkPreset(webirc_password="pw", webirc_domain="irc.two.example").webirc_network()
    assert one.prefixlen == two.prefixlen == 64
    assert one.subnet_of(ipaddress.IPv6Network("fd00::/8")) and one != two
    chosen = NetworkPreset(webirc_password="pw", webirc_domain="d.example", webirc_prefix=PREFIX)
    assert chosen.webirc_network() == PREFIX


@pytest.mark.parametrize(
    ("preset", "complaint"),
    [
        ({"webirc_password": "pw"}, "webirc_domain"),
        ({"webirc_password": "pw", "webirc_domain": "d", "webirc_prefix": "fd00::/96"}, "/64"),
        ({"webirc_password": "pw", "webirc_domain": "d", "webirc_prefix": "10.0.0.0/8"}, "IPv6"),
    ],
)
def test_bad_webirc_presets_are_refused(preset: dict[str, object], complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        IrcNetwork({"networks": {"irc.example.org": preset}})


def login_context(user: str, store: MemoryStore) -> LoginContext:
    return LoginContext(user, None, lambda event: None, Loopback(), store)


async def test_the_webirc_line_is_the_users_own_across_restarts_and_hides_the_jid() -> None:
    options: dict[str, Any] = {
        "networks": {
            "irc.example.org": {"webirc_password": "gatewaysecret", "webirc_domain": "gw.example"}
        }
    }
    irc = IrcNetwork(options)
    preset = irc.options.networks["irc.example.org"]
    alice_store, bob_store = MemoryStore(), MemoryStore()
    first = await irc._webirc(login_context("alice@example.org", alice_store), preset)
    restarted = IrcNetwork(options)  # a new process: only the user's store remains
    again = await restarted._webirc(login_context("alice@example.org", alice_store), preset)
    bob = await irc._webirc(login_context("bob@example.org", bob_store), preset)
    assert (first.hostname, first.ip) == (again.hostname, again.ip)
    assert (bob.hostname, bob.ip) != (first.hostname, first.ip)
    line = first.message().to_line().decode()
    assert line.startswith("WEBIRC gatewaysecret xmpp-bridge ")
    assert "alice" not in line and "example.org" not in line
