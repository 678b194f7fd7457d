"""Domain errors a plugin raises, and the one table that turns them into XMPP errors.

A plugin never names an XMPP condition. It raises one of these with a text a person
can act on; :func:`xmpp_error_for` says which stanza error the user's client shows.
"""

from __future__ import annotations

from dataclasses import dataclass


class LegacyError(Exception):
    """Base of every error a plugin may raise towards the core."""

    def __init__(self, text: str = "") -> None:
        super().__init__(text)
        self.text = text


class NotConnected(LegacyError):
    """The legacy link is down (or not yet up)."""


class NoSuchRoom(LegacyError):
    """The room does not exist or cannot be reached."""


class NoSuchContact(LegacyError):
    """Nobody by that name on the legacy network."""


class NickInUse(LegacyError):
    """Someone else holds that nick."""


class AuthFailed(LegacyError):
    """Credentials refused, or a channel key wrong or missing."""


class Forbidden(LegacyError):
    """The network or the operator's policy forbids it (a ban, a deny rule)."""


class RoomFull(LegacyError):
    """The room admits nobody more."""


class InviteOnly(LegacyError):
    """The room admits only those invited."""


class RegistrationRequired(LegacyError):
    """The network needs an account and this user has not registered one."""


class NotSupported(LegacyError):
    """The network has no such thing."""


class RateLimited(LegacyError):
    """Too much, too fast: try again later."""


class BadRequest(LegacyError):
    """The request does not make sense for the network (a malformed name, a bad argument)."""


@dataclass(frozen=True, slots=True)
class XmppError:
    """An RFC 6120 stanza error: type and defined condition."""

    type: str
    condition: str


ERROR_TABLE: dict[type[LegacyError], XmppError] = {
    NotConnected: XmppError("wait", "remote-server-timeout"),
    NoSuchRoom: XmppError("cancel", "item-not-found"),
    NoSuchContact: XmppError("cancel", "item-not-found"),
    NickInUse: XmppError("cancel", "conflict"),
    AuthFailed: XmppError("auth", "not-authorized"),
    Forbidden: XmppError("auth", "forbidden"),
    RoomFull: XmppError("wait", "service-unavailable"),
    InviteOnly: XmppError("auth", "registration-required"),
    RegistrationRequired: XmppError("auth", "registration-required"),
    NotSupported: XmppError("cancel", "feature-not-implemented"),
    RateLimited: XmppError("wait", "resource-constraint"),
    BadRequest: XmppError("modify", "bad-request"),
}

_INTERNAL = XmppError("wait", "internal-server-error")


def xmpp_error_for(error: BaseException) -> XmppError:
    """The stanza error for *error*; anything unknown is an internal error, never a crash."""
    for cls in type(error).__mro__:
        if cls in ERROR_TABLE:
            return ERROR_TABLE[cls]
    return _INTERNAL


def error_text(error: BaseException) -> str:
    """What the user reads: the plugin's own text, or a neutral one for internal errors."""
    if isinstance(error, LegacyError) and error.text:
        return error.text
    if isinstance(error, LegacyError):
        return type(error).__name__
    return "The gateway failed to handle this; the operator's log has the details."
