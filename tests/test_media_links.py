"""Signed media tokens, the Prometheus text, and how attachments read in a message."""

from __future__ import annotations

import pytest

from bridge.addressing import RoomAddress
from bridge.attachments import AttachmentRenderer, MediaPublisher
from bridge.events import Attachment, MessageIn
from bridge.http.metrics import ArchiveStats, GatewayStats, exposition
from bridge.http.signing import BadToken, ExpiredToken, MediaGrant, MediaSigner

SIGNER = MediaSigner.from_secrets_key("a" * 43 + "=")
GRANT = MediaGrant("matrix.example.org", "alice@example.org", "mxc://example.org/abc", 2_000)


def test_a_token_gives_back_its_grant_until_it_expires() -> None:
    token = SIGNER.sign(GRANT)
    assert SIGNER.verify(token, now=1_999) == GRANT
    with pytest.raises(ExpiredToken, match="expired"):
        SIGNER.verify(token, now=2_000)


def test_a_token_is_url_safe() -> None:
    token = SIGNER.sign(MediaGrant("gw", "ü@example.org", "ref/with?odd&chars", 1))
    assert all(c.isalnum() or c in "-_." for c in token)


def test_an_altered_token_is_refused() -> None:
    payload, _, signature = SIGNER.sign(GRANT).partition(".")
    other = SIGNER.sign(MediaGrant(GRANT.gateway, "mallory@example.org", GRANT.ref, 2_000))
    forged = f"{other.partition('.')[0]}.{signature}"
    with pytest.raises(BadToken, match="altered"):
        SIGNER.verify(forged, now=0)
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    with pytest.raises(BadToken, match="altered"):
        SIGNER.verify(f"{payload}.{flipped}", now=0)


def test_a_token_cannot_be_given_a_longer_life() -> None:
    signature = SIGNER.sign(GRANT).partition(".")[2]
    later = SIGNER.sign(MediaGrant(GRANT.gateway, GRANT.user, GRANT.ref, 9_999))
    with pytest.raises(BadToken):
        SIGNER.verify(f"{later.partition('.')[0]}.{signature}", now=5_000)


def test_another_key_and_garbage_are_refused() -> None:
    token = SIGNER.sign(GRANT)
    with pytest.raises(BadToken, match="not made by this gateway"):
        MediaSigner.from_secrets_key("b" * 43 + "=").verify(token, now=0)
    for garbage in ("", "nodot", "!!!.???", "x" * 5000):
        with pytest.raises(BadToken):
            SIGNER.verify(garbage, now=0)


def test_metrics_text_has_one_sample_per_gateway_and_escapes_labels() -> None:
    text = exposition(
        [
            GatewayStats("irc.example.org", True, 3, 0, 0, 2),
            GatewayStats('odd"gw', False, 1, 7, 5, 0),
        ],
        ArchiveStats(buffered=4, dropped=1),
    )
    lines = text.splitlines()
    assert 'xmpp_bridge_link_up{gateway="irc.example.org"} 1' in lines
    assert 'xmpp_bridge_link_up{gateway="odd\\"gw"} 0' in lines
    assert 'xmpp_bridge_link_connects_total{gateway="irc.example.org"} 3' in lines
    assert 'xmpp_bridge_link_queued_stanzas{gateway="odd\\"gw"} 7' in lines
    assert 'xmpp_bridge_link_dropped_stanzas_total{gateway="odd\\"gw"} 5' in lines
    assert 'xmpp_bridge_sessions{gateway="irc.example.org"} 2' in lines
    assert "xmpp_bridge_archive_buffered_messages 4" in lines
    assert "xmpp_bridge_archive_dropped_messages_total 1" in lines
    assert "# TYPE xmpp_bridge_link_connects_total counter" in lines
    assert text.endswith("\n")


PHOTO = Attachment("ref-1", "cat photo.jpg", "image/jpeg", 3)


def _message(body: str) -> MessageIn:
    return MessageIn(RoomAddress("example.org", "#r"), body, nick="bob", attachments=(PHOTO,))


def test_an_attachment_alone_makes_the_body_its_link() -> None:
    publisher = MediaPublisher("gw.example", SIGNER, "https://media.example", 60)
    rendered = AttachmentRenderer(publisher).render("alice@example.org", _message(""))
    [link] = rendered.links
    assert rendered.body == link.url
    assert link.url.startswith("https://media.example/media/")
    assert link.url.endswith("/cat%20photo.jpg")
    token = link.url.split("/")[-2]
    assert SIGNER.verify(token, now=0).user == "alice@example.org"


def test_a_caption_comes_before_the_link() -> None:
    publisher = MediaPublisher("gw.example", SIGNER, "https://media.example", 60)
    rendered = AttachmentRenderer(publisher).render("alice@example.org", _message("look"))
    assert rendered.body == f"look\n{rendered.links[0].url}"


def test_without_http_the_body_says_the_file_is_not_available() -> None:
    rendered = AttachmentRenderer(None).render("alice@example.org", _message("look"))
    assert rendered.links == ()
    assert rendered.body == (
        "look\n(attachment: cat photo.jpg, not available: the gateway's HTTP server is off)"
    )
