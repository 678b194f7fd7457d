"""RPL_ISUPPORT folding: what the rest of the plugin learns about a server."""

import pytest

from plugins.irc.protocol.isupport import ServerFeatures
from plugins.irc.protocol.message import parse_line

LIBERA_005 = [
    b":zinc.libera.chat 005 me CALLERID=g WHOX ETRACE FNC SAFELIST ELIST=CMNTU KNOCK"
    b" MONITOR=100 CHANTYPES=# EXCEPTS INVEX :are supported by this server",
    b":zinc.libera.chat 005 me CHANMODES=eIbq,k,flj,CFLMPQRSTcgimnprstuz CHANLIMIT=#:250"
    b" PREFIX=(ov)@+ MAXLIST=bqeI:100 MODES=4 NETWORK=Libera.Chat STATUSMSG=@+"
    b" CASEMAPPING=rfc1459 NICKLEN=16 MAXNICKLEN=16 CHANNELLEN=50 TOPICLEN=390"
    b" :are supported by this server",
    b":zinc.libera.chat 005 me DEAF=D TARGMAX=NAMES:1,LIST:1,KICK:1,WHOIS:1,PRIVMSG:4,"
    b"NOTICE:4,ACCEPT:,MONITOR: EXTBAN=$,agjrxz :are supported by this server",
]


def fold(lines: list[bytes], features: ServerFeatures | None = None) -> ServerFeatures:
    features = features or ServerFeatures()
    for line in lines:
        features = features.with_tokens(parse_line(line).params[1:-1])
    return features


def test_defaults_are_rfc1459() -> None:
    features = ServerFeatures()
    assert features.casemapping == "rfc1459"
    assert features.chantypes == "#&"
    assert (features.prefix_modes, features.prefix_symbols) == ("ov", "@+")
    assert features.linelen == 512
    assert features.monitor is None
    assert features.network is None


def test_a_real_libera_announcement() -> None:
    features = fold(LIBERA_005)
    assert features.network == "Libera.Chat"
    assert features.chantypes == "#"
    assert features.chanmodes == ("eIbq", "k", "flj", "CFLMPQRSTcgimnprstuz")
    assert features.nicklen == 16
    assert features.channellen == 50
    assert features.topiclen == 390
    assert features.monitor == 100
    assert features.max_targets("privmsg") == 4
    assert features.max_targets("ACCEPT") is None
    assert features.max_targets("JOIN") == 1
    assert features.tokens["WHOX"] == ""
    assert features.is_channel("#libera")
    assert not features.is_channel("&local")
    assert not features.is_channel("")


def test_prefix_with_owner_and_halfop() -> None:
    features = ServerFeatures().with_tokens(["PREFIX=(qaohv)~&@%+"])
    assert features.prefix_modes == "qaohv"
    assert features.mode_for_symbol("%") == "h"
    assert features.mode_for_symbol("!") is None
    assert features.mode_for_symbol("") is None


@pytest.mark.parametrize(
    ("token", "modes", "symbols"),
    [
        ("PREFIX=", "", ""),
        ("PREFIX", "", ""),
        ("PREFIX=(ov)@", "ov", "@+"),
        ("PREFIX=ov", "ov", "@+"),
    ],
)
def test_empty_or_garbled_prefix(token: str, modes: str, symbols: str) -> None:
    features = ServerFeatures().with_tokens([token])
    assert (features.prefix_modes, features.prefix_symbols) == (modes, symbols)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("ascii", "ascii"),
        ("RFC1459", "rfc1459"),
        ("strict-rfc1459", "strict-rfc1459"),
        ("rfc7613", "ascii"),
        ("something-new", "rfc1459"),
    ],
)
def test_casemapping(value: str, expected: str) -> None:
    assert ServerFeatures().with_tokens([f"CASEMAPPING={value}"]).casemapping == expected


def test_removal_brings_the_default_back() -> None:
    features = ServerFeatures().with_tokens(["NICKLEN=30", "MONITOR", "NETWORK=Net"])
    assert (features.nicklen, features.monitor, features.network) == (30, 0, "Net")
    features = features.with_tokens(["-NICKLEN", "-MONITOR", "-UNKNOWN"])
    assert (features.nicklen, features.monitor, features.network) == (9, None, "Net")
    assert "NICKLEN" not in features.tokens


def test_later_values_replace_earlier_ones() -> None:
    features = ServerFeatures().with_tokens(["TOPICLEN=100"]).with_tokens(["TOPICLEN=200"])
    assert features.topiclen == 200


def test_garbage_numbers_keep_the_defaults() -> None:
    features = ServerFeatures().with_tokens(
        [
            "NICKLEN=lots",
            "CHANNELLEN=-1",
            "TOPICLEN=",
            "MONITOR=x",
            "LINELEN=٣٣٣",
            "TARGMAX=PRIVMSG:x",
        ]
    )
    assert (features.nicklen, features.channellen, features.topiclen) == (9, 200, None)
    assert features.monitor == 0
    assert features.linelen == 512
    assert features.max_targets("PRIVMSG") == 1


def test_linelen_may_only_grow() -> None:
    assert ServerFeatures().with_tokens(["LINELEN=2048"]).linelen == 2048
    assert ServerFeatures().with_tokens(["LINELEN=100"]).linelen == 512


def test_short_chanmodes_are_padded_and_extra_groups_ignored() -> None:
    assert ServerFeatures().with_tokens(["CHANMODES=b,k"]).chanmodes == ("b", "k", "", "")
    assert ServerFeatures().with_tokens(["CHANMODES=b,k,l,n,XYZ"]).chanmodes == ("b", "k", "l", "n")


def test_escaped_values_are_decoded() -> None:
    assert ServerFeatures().with_tokens([r"NETWORK=My\x20Net\x3D"]).network == "My Net="
    assert ServerFeatures().with_tokens([r"NETWORK=A\x00\x0aB"]).network == "AB"


def test_tokens_without_a_name_are_ignored() -> None:
    assert ServerFeatures().with_tokens(["=x", "-", ""]).tokens == {}


def test_features_are_values() -> None:
    base = ServerFeatures()
    changed = base.with_tokens(["NICKLEN=20"])
    assert base.nicklen == 9
    assert changed.nicklen == 20
    with pytest.raises(TypeError):
        changed.tokens["X"] = "1"  # type: ignore[index]


def test_connections_given_the_same_tokens_share_one_value() -> None:
    tokens = ["CASEMAPPING=ascii", "NICKLEN=30", "CHANTYPES=#"]
    first = ServerFeatures().with_tokens(tokens)
    assert ServerFeatures().with_tokens(tokens) is first
    assert ServerFeatures().with_tokens([*tokens, "NETWORK=other"]) is not first
