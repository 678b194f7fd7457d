"""One legacy session per user, shared by all the user's XMPP resources.

Presence drives it (XEP-0100): the first available resource logs the user in, the
last unavailable one logs them out, unless the user asked to stay connected. Logins
are single-flight: resources arriving together share one login.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from pydantic import BaseModel

from bridge.errors import Forbidden, LegacyError, NotConnected, RegistrationRequired
from bridge.events import LegacyEvent, SetPresence, Show
from bridge.network import HostResolver, LegacySession, LoginContext, Network, UserStore

log = logging.getLogger(__name__)

SettingsLoader = Callable[[str], Awaitable[BaseModel | None]]
EventHandler = Callable[[str, LegacyEvent], None]


@dataclass(frozen=True, slots=True)
class ResourcePresence:
    show: Show
    status: str = ""
    priority: int = 0


@dataclass
class UserState:
    resources: dict[str, ResourcePresence] = field(default_factory=dict)
    # What resources told rooms only (users who never subscribed to the gateway): it shapes
    # the presence the network sees, never when the session starts or ends.
    room_presences: dict[str, ResourcePresence] = field(default_factory=dict)
    pushed: SetPresence | None = None
    session: LegacySession | None = None
    login: asyncio.Task[LegacySession] | None = None
    stay_connected: bool = False


class SessionManager:
    def __init__(
        self,
        network: Network,
        *,
        load_settings: SettingsLoader,
        hosts: HostResolver,
        on_event: EventHandler,
        on_login: Callable[[str], Awaitable[None]],
        store_for: Callable[[str], UserStore],
        max_sessions: int,
    ) -> None:
        self.network = network
        self._load_settings = load_settings
        self._hosts = hosts
        self._on_event = on_event
        self._on_login = on_login
        self._store_for = store_for
        self._max_sessions = max_sessions
        self._users: dict[str, UserState] = {}
        self._logged_in = 0

    def users(self) -> list[str]:
        return [u for u, s in self._users.items() if s.session is not None]

    def session_of(self, user: str) -> LegacySession | None:
        state = self._users.get(user)
        return state.session if state else None

    def online_resources(self, user: str) -> list[str]:
        state = self._users.get(user)
        return list(state.resources) if state else []

    async def session_for(self, user: str) -> LegacySession:
        """The user's session, logging in first when there is none."""
        state = self._users.setdefault(user, UserState())
        if state.session is not None:
            return state.session
        if state.login is None:
            if self._logged_in >= self._max_sessions:
                raise Forbidden("The gateway serves as many users as its operator allows.")
            state.login = asyncio.get_running_loop().create_task(self._login(user))
        task = state.login
        try:
            session = await asyncio.shield(task)
        except asyncio.CancelledError:
            if not task.cancelled():
                raise  # the caller itself is being cancelled
            raise NotConnected("The session was closed while logging in; try again.") from None
        finally:
            if task.done() and state.login is task:
                state.login = None
        return session

    async def _login(self, user: str) -> LegacySession:
        settings = await self._load_settings(user)
        if settings is None and self.network.capabilities.needs_registration:
            raise RegistrationRequired(
                "Register with the gateway first (your client's 'register' action, or the "
                "ad-hoc command 'register')."
            )
        context = LoginContext(
            user=user,
            settings=settings,
            emit=lambda event: self._on_event(user, event),
            hosts=self._hosts,
            store=self._store_for(user),
        )
        session = await self.network.login(context)
        state = self._users.setdefault(user, UserState())
        state.session = session
        self._logged_in += 1
        log.info("logged in %s", user)
        presence = self.aggregate_presence(user)
        if presence is not None and presence.show is not Show.AVAILABLE:
            state.pushed = presence
            await self._apply_quietly(session, presence)
        await self._on_login(user)
        return session

    def resource_available(self, full_jid: str, user: str, presence: ResourcePresence) -> bool:
        """Record a resource's presence; True when it is the user's first resource."""
        state = self._users.setdefault(user, UserState())
        first = not state.resources
        state.resources[full_jid] = presence
        return first

    def resource_unavailable(self, full_jid: str, user: str) -> bool:
        """Forget a resource; True when none of the user's resources is left."""
        state = self._users.get(user)
        if state is None:
            return False
        state.resources.pop(full_jid, None)
        return not state.resources

    def room_presence(self, full_jid: str, user: str, presence: ResourcePresence | None) -> None:
        """A resource's availability as sent to a room (None: it left)."""
        state = self._users.setdefault(user, UserState())
        if presence is None:
            state.room_presences.pop(full_jid, None)
        else:
            state.room_presences[full_jid] = presence

    def aggregate_presence(self, user: str) -> SetPresence | None:
        """The most available of the user's resources, as the legacy network should see it;
        offline when none is online."""
        state = self._users.get(user)
        if state is None:
            return None
        known = {**state.room_presences, **state.resources}
        if not known:
            # Still logged in with no client online (stay connected, persistent rooms).
            return SetPresence(Show.OFFLINE)
        order = [Show.CHAT, Show.AVAILABLE, Show.AWAY, Show.XA, Show.DND]
        best = min(known.values(), key=lambda p: (order.index(p.show), -p.priority))
        return SetPresence(best.show, best.status)

    async def push_presence(self, user: str) -> None:
        """Tell the network the user's availability, when it changed since last told."""
        state = self._users.get(user)
        presence = self.aggregate_presence(user)
        if state is None or state.session is None or presence is None:
            return
        if presence != state.pushed:
            state.pushed = presence
            await self._apply_quietly(state.session, presence)

    async def logout(self, user: str, reason: str) -> bool:
        """End the user's session (their online resources stay known); True when there was one."""
        state = self._users.get(user)
        if state is None:
            return False
        session, login = state.session, state.login
        state.session = state.login = None
        if not state.resources:
            del self._users[user]
        if login is not None:
            login.cancel()
        if session is None:
            return False
        self._logged_in -= 1
        try:
            await session.close(reason)
        except Exception:
            log.exception("plugin failed to close the session of %s", user)
        log.info("logged out %s (%s)", user, reason)
        return True

    async def close_all(self, reason: str) -> None:
        await asyncio.gather(*(self.logout(u, reason) for u in list(self._users)))

    @staticmethod
    async def _apply_quietly(session: LegacySession, presence: SetPresence) -> None:
        try:
            await session.apply(presence)
        except LegacyError as error:
            log.debug("presence not applied: %s", error)
