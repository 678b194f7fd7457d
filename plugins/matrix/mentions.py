"""Outgoing mentions: an occupant's nick the XMPP user wrote becomes a Matrix pill.

XMPP clients address someone by starting the message with ``nick: `` or ``nick, ``
(people start later lines so too, to address several); they also write ``@nick``
anywhere. Matrix notifies only the users listed in ``m.mentions``, and clients show a
link to ``matrix.to`` as a pill, so both are added while the plain body stays exactly
what the user typed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from html import escape

from plugins.matrix.formatting import MENTION_PREFIX, styled_to_matrix, text_to_html

_TAG = re.compile(r"(<[^>]*>)")
_VERBATIM_TAGS = re.compile(r"<(/?)(?:code|pre)\b")
_QUOTE_TAGS = re.compile(r"<(/?)blockquote\b")
_LINE_ENDS = re.compile(r"<(?:br|/pre|/blockquote)>")
"""Tags after which the text starts a new line (what text_to_html makes of a newline)."""
_ADDRESS_ENDINGS = (":", ",")


@dataclass(frozen=True, slots=True)
class MentionedText:
    """A message as Matrix carries it, with the users it mentions (empty: nobody)."""

    body: str
    formatted_body: str | None
    user_ids: tuple[str, ...] = ()


def with_mentions(text: str, user_ids_by_nick: Mapping[str, str]) -> MentionedText:
    """The Matrix content of *text*, mentioning the room members whose nick it addresses."""
    styled = styled_to_matrix(text)
    nicks = {escape(nick, quote=False): user_id for nick, user_id in user_ids_by_nick.items()}
    if not nicks:
        return MentionedText(styled.body, styled.formatted_body)
    html = styled.formatted_body or text_to_html(text)
    pills = _Pills(nicks)
    pilled = pills.apply(html)
    if not pills.mentioned:
        return MentionedText(styled.body, styled.formatted_body)
    return MentionedText(styled.body, pilled, tuple(pills.mentioned))


class _Pills:
    """Turns nicks in generated HTML into pills, outside code, remembering who was named."""

    def __init__(self, nicks: Mapping[str, str]) -> None:
        self._nicks = nicks
        longest_first = sorted(nicks, key=len, reverse=True)
        self._at_nick = re.compile(
            r"(?<![\w@])@(" + "|".join(map(re.escape, longest_first)) + r")(?!\w)"
        )
        self.mentioned: list[str] = []

    def apply(self, html: str) -> str:
        """*html* with pills; a line outside quotes may start with an address."""
        parts = _TAG.split(html)
        verbatim = quoted = 0
        line_start = True
        for index, part in enumerate(parts):
            if index % 2:
                verbatim += _depth_change(_VERBATIM_TAGS, part)
                quoted += _depth_change(_QUOTE_TAGS, part)
                line_start = _LINE_ENDS.fullmatch(part) is not None
            elif part:
                if not verbatim:
                    parts[index] = self._in_text(part, at_start=line_start and not quoted)
                line_start = False
        return "".join(parts)

    def _in_text(self, text: str, *, at_start: bool) -> str:
        addressed = self._addressed_nick(text) if at_start else None
        head = ""
        if addressed is not None:
            head, text = self._pill(addressed), text[len(addressed) :]
        return head + self._at_nick.sub(lambda match: self._pill(match.group(1)), text)

    def _addressed_nick(self, text: str) -> str | None:
        """The nick *text* starts with as an address (``nick: `` or ``nick, ``), if any."""
        for nick in sorted(self._nicks, key=len, reverse=True):
            rest = text[len(nick) :]
            if text.startswith(nick) and rest[:1] in _ADDRESS_ENDINGS and rest[1:2] in ("", " "):
                return nick
        return None

    def _pill(self, nick: str) -> str:
        user_id = self._nicks[nick]
        if user_id not in self.mentioned:
            self.mentioned.append(user_id)
        link = escape(MENTION_PREFIX.removesuffix("@") + user_id)
        return f'<a href="{link}">{nick}</a>'


def _depth_change(tags: re.Pattern[str], tag: str) -> int:
    """+1 when *tag* opens one of *tags*, -1 when it closes one, else 0."""
    found = tags.match(tag)
    if found is None:
        return 0
    return -1 if found.group(1) else 1
