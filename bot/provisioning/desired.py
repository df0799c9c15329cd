"""From a validated Schedule and the room templates to the rooms a conference should have.

Pure: no I/O beyond what the caller passes in. The result is a list of DesiredRoom, parents
before children, each with the complete state Podium manages in that room.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any, Iterable

from ..conference import pages
from ..conference.roomkeys import (
    SPACE,
    backstage_key,
    helpdesk_key,
    helpdesk_staff_key,
    lobby_key,
    open_space_key,
    poster_key,
    sponsor_key,
    talk_key,
    track_key,
)
from ..conference.roles import MODERATOR_POWER, ORGANISER_POWER, PRESENTER_POWER
from ..conference.schedule import Schedule
from ..roomstate.state import (
    CANONICAL_ALIAS,
    CLIENT_SETTINGS,
    GUEST_ACCESS,
    JOIN_RULES,
    LAYOUT,
    LOCATOR,
    POWER_LEVELS,
    SPACE_CHILD,
    SPACE_PARENT,
    WIDGET,
    DesiredRoom,
    RoomRef,
    StateId,
)
from .templates import RoomTemplates, TemplateProblem

#: Categories in the order their rooms are listed in the conference space: (category, display name).
#: Every room is a direct child of the conference space. Element lists a room under a space only
#: through spaces the user has joined, and nobody joins a sub-space by accepting the conference's
#: one invite: with sub-spaces, the rooms attendees joined sat under Home. The category orders the
#: space's listing instead, and costs no extra write per room. The rooms a newcomer looks for come
#: first, as the conference is walked: lobby, tracks, posters, sponsors, help, open space; the
#: talks' breakout rooms, one per talk and met through the track's hand-off at each talk's end,
#: come last so that they do not push the rest out of sight.
CATEGORIES = (
    ("lobby", "Lobby"),
    ("tracks", "Tracks"),
    ("posters", "Posters"),
    ("sponsors", "Sponsors"),
    ("help", "Help"),
    ("open-space", "Open space"),
    ("breakouts", "Breakouts"),
)
#: The power levels of Podium's roles, as templates name them (``{{ power.presenter }}``).
POWER = {"presenter": PRESENTER_POWER, "moderator": MODERATOR_POWER, "organiser": ORGANISER_POWER}
_ALIAS_LOCALPART = re.compile(r"^[a-z0-9._=\-/+]+$")
JITSI_FRAGMENT = (
    "#conferenceDomain=$domain&conferenceId=$conferenceId&isAudioOnly=$isAudioOnly"
    "&displayName=$matrix_display_name&avatarUrl=$matrix_avatar_url&userId=$matrix_user_id"
    "&roomId=$matrix_room_id&theme=$org.matrix.msc2873.client_theme&roomName=$roomName"
)


@dataclass(frozen=True)
class Settings:
    """Where the conference lives: the homeserver's name, the bot, the widget web server."""

    server_name: str
    bot_user_id: str
    public_url: str  # base URL of Podium's web server, as browsers reach it


@dataclass(frozen=True)
class RoomSource:
    """One room before it is rendered: its key, its template, what the template sees, and the
    schedule entry it stands for (a path like ``("talks", 3)``; ``("conference",)`` for the
    spaces), so that a problem in the rendered room can be traced back to where it was written."""

    key: str
    kind: str
    origin: tuple[str | int, ...]
    context: dict[str, Any]


def room_sources(schedule: Schedule) -> list[RoomSource]:
    """Every room inside the spaces, in the order they are listed in them."""
    talks_by_track = {t.id: schedule.talks_in(t.id) for t in schedule.tracks}
    track_index = {t.id: i for i, t in enumerate(schedule.tracks)}
    talk_index = {t.id: i for i, t in enumerate(schedule.talks)}
    sources = [RoomSource(lobby_key(room.id), "lobby", ("lobby", i), {"room": room})
               for i, room in enumerate(schedule.lobby)]
    for track in schedule.tracks:
        sources.append(RoomSource(track_key(track.id), "track", ("tracks", track_index[track.id]),
                                  {"track": track, "talks": talks_by_track[track.id]}))
    for track in schedule.tracks:
        talks = talks_by_track[track.id]
        speakers = [p.matrix_id for t in talks for p in t.speakers if p.matrix_id]
        sources.append(RoomSource(backstage_key(track.id), "backstage", ("tracks", track_index[track.id]),
                                  {"track": track, "talks": talks, "speakers": speakers}))
    # A poster has one room: its call and PDF are where its presenters are met (a second room
    # of the same title beside it left attendees to guess which one the presenters were in).
    for i, poster in enumerate(schedule.posters):
        sources.append(RoomSource(poster_key(poster.id), "poster", ("posters", i), {"poster": poster}))
    for i, sponsor in enumerate(schedule.sponsors):
        sources.append(RoomSource(sponsor_key(sponsor.id), "sponsor", ("sponsors", i), {"sponsor": sponsor}))
    for i, helpdesk in enumerate(schedule.helpdesks):
        sources.append(RoomSource(helpdesk_key(helpdesk.id), "helpdesk", ("helpdesks", i), {"helpdesk": helpdesk}))
        # Its staff's own room, as a track has its backstage: where tickets reach them.
        sources.append(RoomSource(helpdesk_staff_key(helpdesk.id), "helpdesk-staff", ("helpdesks", i),
                                  {"helpdesk": helpdesk}))
    for i, room in enumerate(schedule.open_space.rooms):
        sources.append(RoomSource(open_space_key(room.id), "open-space", ("open_space", "rooms", i),
                                  {"room": room, "slots": schedule.open_space.slots}))
    for track in schedule.tracks:
        for talk in talks_by_track[track.id]:
            sources.append(RoomSource(talk_key(talk.id), "breakout", ("talks", talk_index[talk.id]),
                                      {"subject": "talk", "item": talk, "people": talk.speakers, "track": track}))
    return sources


def space_source(schedule: Schedule) -> RoomSource:
    """The conference space."""
    return RoomSource(SPACE, "space", ("conference",), {})


def desired_rooms(schedule: Schedule, templates: RoomTemplates, settings: Settings) -> list[DesiredRoom]:
    """Every room the schedule calls for, the conference space first, each room linked into it."""
    builder = _Builder(schedule, templates, settings)
    rooms = [builder.room(source) for source in room_sources(schedule)]
    # Everyone invited to a room inside is invited to the conference space too, whatever the
    # access mode: Element lists a room (and an invitation to it) under the conference only once
    # the user is in the space, and in restricted rooms membership of the space is the key.
    everyone = [user for room in rooms for user in room.invites]
    rooms = [builder.space(space_source(schedule), everyone=everyone), *rooms]
    _link_children(rooms, settings.server_name)
    return rooms


def all_sources(schedule: Schedule) -> dict[str, RoomSource]:
    """What every room the schedule may call for is rendered from, by key: the conference space
    and the rooms inside it."""
    return {source.key: source for source in [space_source(schedule), *room_sources(schedule)]}


def render_room(schedule: Schedule, templates: RoomTemplates, settings: Settings, source: RoomSource) -> DesiredRoom:
    """One room alone, as :func:`desired_rooms` renders it but without its space's child links
    and invitations: cheap enough to render a room again and again with one schedule value
    changed, to see what that value does to it."""
    builder = _Builder(schedule, templates, settings)
    return builder.space(source) if source.kind == "space" else builder.room(source)


def template_context(schedule: Schedule, settings: Settings, source: RoomSource) -> dict[str, Any]:
    """Everything the room's template sees: what every template sees, and the room's own."""
    conf = schedule.conference
    return {
        "conference": conf,
        "schedule": schedule,
        "staff": schedule.staff,
        "video": conf.video,
        "public_url": settings.public_url.rstrip("/"),
        "jitsi_url": conf.video.jitsi_wrapper_url + JITSI_FRAGMENT,
        "server_name": settings.server_name,
        "power": POWER,
        # The widget pages' URLs come from the one URL scheme the web server routes.
        "pages": pages,
        **source.context,
        "key": source.key,
    }


class _Builder:
    def __init__(self, schedule: Schedule, templates: RoomTemplates, settings: Settings):
        self.schedule = schedule
        self.templates = templates
        self.settings = settings

    def room(self, source: RoomSource) -> DesiredRoom:
        kind, key = source.kind, source.key
        spec = self._render(source)
        where = f"room-templates/{kind}.yaml"
        if "parent" in spec:
            raise TemplateProblem(
                f"{where}: 'parent' is now 'category': every room is listed in the conference space, "
                "in the order of its category; rename the setting"
            )
        category = spec.get("category")
        if category not in dict(CATEGORIES):
            raise TemplateProblem(
                f"{where}: category {category!r} is not one of {', '.join(c for c, _ in CATEGORIES)}"
            )
        room = self._room(key, kind, spec, parent=SPACE, is_space=False)
        position = [c for c, _ in CATEGORIES].index(category)
        # The space lists rooms by order: the category's place first, then the room's own order.
        return dataclasses.replace(room, order=_space_order(f"{position}-{room.order}" if room.order else None),
                                   category=position)

    def space(self, source: RoomSource, everyone: Iterable[str] = ()) -> DesiredRoom:
        room = self._room(source.key, "space", self._render(source), parent=None, is_space=True)
        staff = [*self.schedule.staff.organisers, *self.schedule.staff.moderators]
        invites = _unique_invites([*room.invites, *staff, *everyone], self.settings.bot_user_id)
        return dataclasses.replace(room, invites=invites)

    def _render(self, source: RoomSource) -> dict[str, Any]:
        return self.templates.render(source.kind, template_context(self.schedule, self.settings, source))

    def _room(self, key: str, kind: str, spec: dict[str, Any], *, parent: str | None, is_space: bool) -> DesiredRoom:
        settings = self.settings
        where = f"room-templates/{kind}.yaml ({key})"
        alias = str(spec.get("alias", "")).lower()
        if not _ALIAS_LOCALPART.match(alias):
            raise TemplateProblem(f"{where}: alias {alias!r} may only use a-z 0-9 . _ = - / +")
        name = str(spec.get("name", ""))
        state: dict[StateId, dict[str, Any]] = {
            ("m.room.name", ""): {"name": name},
            ("m.room.topic", ""): {"topic": str(spec.get("topic") or "")},
            (JOIN_RULES, ""): self._join_rules(spec.get("join_rule", "access"), key, where),
            ("m.room.history_visibility", ""): {"history_visibility": spec["history_visibility"]},
            (GUEST_ACCESS, ""): {"guest_access": spec["guest_access"]},
            (CANONICAL_ALIAS, ""): {"alias": f"#{alias}:{settings.server_name}"},
            (LOCATOR, ""): {"conference": self.schedule.conference.id, "key": key, "kind": kind},
            (POWER_LEVELS, ""): self._power_levels(spec, where),
        }
        if not _switch(spec.get("show_redactions", True), where, "show_redactions"):
            # Element stores its "showRedactions" setting under the inverted, older name.
            state[(CLIENT_SETTINGS, "")] = {"hideRedactions": True}
        if parent is not None:
            state[(SPACE_PARENT, RoomRef(parent))] = {"via": [settings.server_name], "canonical": True}
        layout: dict[str, Any] = {}
        for index, widget in enumerate(spec.get("widgets") or []):
            if "when" in widget and not widget["when"]:
                continue
            wid, content, position = self._widget(widget, where, index)
            state[(WIDGET, wid)] = content
            if position:
                layout[wid] = position
        if layout:
            state[(LAYOUT, "")] = {"widgets": layout}
        return DesiredRoom(
            key=key,
            kind=kind,
            alias=alias,
            name=name,
            is_space=is_space,
            parent=parent,
            state=state,
            invites=(invites := _unique_invites(_as_ids(spec.get("invite"), where, "invite"), settings.bot_user_id)),
            speakers=tuple(u for u in _unique_invites(_as_ids(spec.get("speakers"), where, "speakers"),
                                                      settings.bot_user_id) if u in invites),
            suggested=bool(spec.get("suggested", True)),
            order=_space_order(spec.get("order")),
            clock=_switches(spec.get("clock"), where),
            live_state=frozenset(_as_ids(spec.get("live_state"), where, "live_state")),
            welcome=_switch(spec.get("welcome", False), where, "welcome"),
        )

    def _join_rules(self, rule: Any, key: str, where: str) -> dict[str, Any]:
        access = self.schedule.conference.access
        if rule == "access":
            rule = {"public": "public", "space-members": "restricted", "invite": "invite"}[access]
        if rule == "restricted":
            if key == SPACE:
                raise TemplateProblem(f"{where}: the conference space cannot be restricted to itself")
            return {
                "join_rule": "restricted",
                "allow": [{"type": "m.room_membership", "room_id": RoomRef(SPACE)}],
            }
        if rule not in ("public", "invite", "knock"):
            raise TemplateProblem(f"{where}: join_rule {rule!r} is not public, invite, restricted or access")
        return {"join_rule": rule}

    def _power_levels(self, spec: dict[str, Any], where: str) -> dict[str, Any]:
        levels = dict(spec.get("power_levels") or {})
        users: dict[str, int] = {}
        for user in _as_ids(spec.get("moderators"), where, "moderators"):
            users[user] = MODERATOR_POWER
        for user in self.schedule.staff.moderators:
            users[user] = MODERATOR_POWER
        for user in self.schedule.staff.organisers:
            users[user] = ORGANISER_POWER
        # The bot creates every room. From room version 12 on the creator's power is unbounded
        # and it must not be listed; for older versions the planner adds it at creation time.
        users.pop(self.settings.bot_user_id, None)
        levels["users"] = dict(sorted(users.items()))
        return levels

    def _widget(self, widget: dict[str, Any], where: str, index: int) -> tuple[str, dict[str, Any], dict | None]:
        try:
            wid = str(widget["id"])
            content = {
                "id": wid,
                "type": str(widget.get("type", "m.custom")),
                "url": str(widget["url"]),
                "name": str(widget.get("name", wid)),
                "data": dict(widget.get("data") or {}),
                "creatorUserId": self.settings.bot_user_id,
                "waitForIframeLoad": True,
            }
        except KeyError as missing:
            raise TemplateProblem(f"{where}: widgets[{index}] needs {missing}") from None
        return wid, content, widget.get("layout")


def _switches(value: Any, where: str) -> dict[str, bool]:
    """The template's ``clock:`` mapping: which of the conference clock's messages a room gets."""
    if value in (None, ""):
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, bool) for v in value.values()):
        raise TemplateProblem(f"{where}: clock must map message kinds to true or false, not {value!r}")
    return {str(k): v for k, v in value.items()}


def _switch(value: Any, where: str, name: str) -> bool:
    if not isinstance(value, bool):
        raise TemplateProblem(f"{where}: {name} must be true or false, not {value!r}")
    return value


def _space_order(value: Any) -> str | None:
    """m.space.child orders are at most 50 printable ASCII characters."""
    if value in (None, ""):
        return None
    return "".join(c for c in str(value) if " " <= c <= "~")[:50] or None


def _unique_invites(invites: Iterable[str], bot: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(u for u in invites if u and u != bot))


def _as_ids(value: Any, where: str, field: str) -> list[str]:
    if value in (None, ""):
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, (list, tuple)):
        raise TemplateProblem(f"{where}: {field} must be a list of Matrix IDs, not {value!r}")
    return [str(v) for v in value]


def _link_children(rooms: list[DesiredRoom], server_name: str) -> None:
    """Give each space an m.space.child event per room inside it: by category, then in schedule
    order unless the template gives a stable order (so dropping one talk does not reorder all the
    others)."""
    by_key = {r.key: r for r in rooms}
    counters: dict[tuple[str, int], int] = {}
    for room in rooms:
        if room.parent is None:
            continue
        parent = by_key[room.parent]
        place = (room.parent, room.category)
        order = counters.get(place, 0)
        counters[place] = order + 1
        parent.state[(SPACE_CHILD, RoomRef(room.key))] = {
            "via": [server_name],
            "order": room.order or f"{room.category}-{order:05d}",
            "suggested": room.suggested,
        }
