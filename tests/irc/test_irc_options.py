"""The operator's [gateway.options] for IRC: mistakes refused at start, not at the first dial."""

import pytest

from plugins.irc.network import IrcNetwork, server_scope
from plugins.irc.settings import ServerSettings
from tests.memory_store import MemoryStore


@pytest.mark.parametrize(
    ("preset", "complaint"),
    [
        ({"ports": [], "tls_ports": []}, "at least one port"),
        ({"ports": [70000]}, "between 1 and 65535"),
        ({"fingerprint": "not-a-hash"}, "SHA-256"),
        ({"colour": "blue"}, "colour"),
        ({"throttle_limit": -2}, "greater than or equal to -1"),
    ],
)
def test_bad_presets_are_refused_with_the_reason(preset: dict[str, object], complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        IrcNetwork({"networks": {"irc.example.org": preset}})


def test_a_good_preset_is_taken() -> None:
    network = IrcNetwork({"networks": {"irc.example.org": {"ports": [6667], "tls_ports": []}}})
    assert network.options.networks["irc.example.org"].ports == [6667]


async def test_a_presets_throttle_limit_is_the_default_until_the_user_sets_one() -> None:
    network = IrcNetwork({"networks": {"irc.example.org": {"throttle_limit": -1}}})
    store = MemoryStore()
    assert (await network._settings(store, "irc.example.org")).throttle_limit == -1
    assert (await network._settings(store, "irc.other.org")).throttle_limit == 10
    await store.save(server_scope("irc.example.org"), ServerSettings(throttle_limit=3))
    assert (await network._settings(store, "irc.example.org")).throttle_limit == 3
