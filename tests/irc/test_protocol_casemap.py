"""Case-insensitive nick and channel names under each server casemapping."""

import pytest

from plugins.irc.protocol.casemap import FoldedDict, fold, same


@pytest.mark.parametrize(
    ("casemapping", "text", "folded"),
    [
        ("rfc1459", "[Bob]\\~", "{bob}|^"),
        ("strict-rfc1459", "[Bob]\\~", "{bob}|~"),
        ("ascii", "[Bob]\\~", "[bob]\\~"),
    ],
)
def test_fold(casemapping: str, text: str, folded: str) -> None:
    assert fold(text, casemapping) == folded


def test_non_ascii_letters_are_never_folded() -> None:
    # Python's lower() would merge these; no IRC casemapping the bridge knows does.
    assert fold("#ÉTÉ", "rfc1459") == "#ÉtÉ"
    assert fold("\u212a", "ascii") == "\u212a"  # Kelvin sign, which lower() makes 'k'


def test_same() -> None:
    assert same("#Chan", "#chan", "ascii")
    assert same("Nick[away]", "nick{AWAY}", "rfc1459")
    assert not same("Nick[away]", "nick{away}", "ascii")
    assert not same("a~", "A^", "strict-rfc1459")


def test_unknown_casemapping_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="unknown casemapping 'utf8'"):
        fold("x", "utf8")
    with pytest.raises(ValueError, match="unknown casemapping"):
        FoldedDict("utf8")


def test_folded_dict_finds_any_spelling_and_keeps_the_latest() -> None:
    channels: FoldedDict[int] = FoldedDict("rfc1459")
    channels["#Chan[1]"] = 1
    assert channels["#CHAN{1}"] == 1
    assert "#chan{1}" in channels
    assert 42 not in channels  # type: ignore[comparison-overlap]
    assert list(channels) == ["#Chan[1]"]
    channels["#chan{1}"] = 2
    assert len(channels) == 1
    assert channels.spelling("#CHAN[1]") == "#chan{1}"
    assert dict(channels.items()) == {"#chan{1}": 2}
    del channels["#CHAN[1]"]
    assert not channels
    with pytest.raises(KeyError):
        channels["#chan{1}"]


def test_folded_dict_repr_shows_spellings() -> None:
    nicks: FoldedDict[str] = FoldedDict("ascii")
    nicks["Alice"] = "here"
    assert repr(nicks) == "FoldedDict('ascii', {'Alice': 'here'})"
