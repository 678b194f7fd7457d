"""The operator's [gateway.options] for IRC: mistakes refused at start, not at the first dial."""

import pytest

from plugins.irc.network import IrcNetwork


@pytest.mark.parametrize(
    ("preset", "complaint"),
    [
        ({"ports": [], "tls_ports": []}, "at least one port"),
        ({"ports": [70000]}, "between 1 and 65535"),
        ({"fingerprint": "not-a-hash"}, "SHA-256"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_bad_presets_are_refused_with_the_reason(preset: dict[str, object], complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        IrcNetwork({"networks": {"irc.example.org": preset}})


def test_a_good_preset_is_taken() -> None:
    network = IrcNetwork({"networks": {"irc.example.org": {"ports": [6667], "tls_ports": []}}})
    assert network.options.networks["irc.example.org"].ports == [6667]
