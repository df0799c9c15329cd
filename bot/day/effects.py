"""What each transition does, as plain data: messages to say, topics and names to set.

Who may present is not a transition's to say: it follows the schedule in force at every moment
(``bot.conference.roles.presenting``; the runner keeps it), so a talk an edit deletes or moves
while it runs takes its speakers' power back as surely as its end does.

Pure: given the transition, the schedule (delays applied) and what the store knows (who checked
in, the open questions), the effects in order; the runner carries them out. Each effect names
its room by conference key (``track/forum``, ``backstage/forum``, ``talk/t1``,
``lobby/announcements``) and its switch: the room template's ``clock:`` setting that mutes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import tzinfo
from zoneinfo import ZoneInfo

from ..commands.message import Message, bold, code, link, message, room, user
from ..conference.announcements import ANNOUNCEMENTS_ROOM
from ..conference.clock import next_talk, talk_end, talks_in_track
from ..conference.display import RoomLinks, place_name, user_link
from ..conference.openspace import (
    Booking,
    booking_slot,
    session_name,
    session_room,
    session_topic,
    video_call,
)
from ..conference.pages import track_page
from ..conference.qa import Question
from ..conference.roomkeys import backstage_key, object_id, open_space_key, talk_key, track_key
from ..conference.schedule import Schedule, Talk
from ..conference.transitions import (
    CHECK_IN,
    END,
    REMIND,
    SESSION_END,
    POSTER_END,
    POSTER_REMIND,
    POSTER_START,
    SESSION_REMIND,
    SESSION_START,
    START,
    Transition,
)

#: How many open questions are handed to the breakout room at the end.
HANDED_OVER = 5


@dataclass(frozen=True)
class Say:
    room: str
    switch: str
    message: Message
    mentions: tuple[str, ...] = ()  # Matrix IDs this message means to notify
    #: A notice, or a text: the homeserver's push rules silence notices before they look at
    #: mentions, so a message that must reach someone is a text.
    notice: bool = True


@dataclass(frozen=True)
class SetTopic:
    room: str
    switch: str
    topic: str


@dataclass(frozen=True)
class SetName:
    room: str
    switch: str
    name: str


Effect = Say | SetTopic | SetName


def effects(transition: Transition, schedule: Schedule, *, public_url: str, checked_in: set[str] = frozenset(),
            questions: Sequence[Question] = (), chairs: Sequence[str] = (),
            links: RoomLinks | None = None) -> list[Effect]:
    """The effects of ``transition`` in ``schedule`` (with the track's delay applied); ``links``
    name the rooms a message points to."""
    talk = next((t for t in schedule.talks if t.id == transition.talk_id), None)
    if talk is None:
        return []
    zone = ZoneInfo(schedule.conference.timezone)
    track, backstage = track_key(talk.track), backstage_key(talk.track)
    speakers = tuple(p.matrix_id for p in talk.speakers if p.matrix_id)
    if transition.kind == REMIND:
        unreachable = [p.name for p in talk.speakers if not p.matrix_id]
        return [Say(backstage, "reminder", message(
            "Starting at ", _time(talk, zone), ": “", user(talk.title), "”", *_by(talk), ".",
            # Only speakers with a Matrix ID are in this room to read it and check in; for the
            # others the chairs are told to reach them another way.
            *((" Speakers, please check in here with ", code("!here"), ".") if speakers else ()),
            *((" ", user(", ".join(unreachable)), f" {'has' if len(unreachable) == 1 else 'have'} no Matrix ID in "
               "the schedule: chairs, check with them another way.") if unreachable else ()),
            # The speakers asked for it; the chairs in this room must see that nobody records it.
            *((" ", bold("Not recorded:"), " the speakers asked that this talk be neither recorded nor streamed.")
              if talk.do_not_record else ())), speakers)]
    if transition.kind == CHECK_IN:
        missing = [p for p in talk.speakers if p.matrix_id and p.matrix_id not in checked_in]
        if not missing:
            return []
        names = ", ".join(f"{p.name} ({p.matrix_id})" for p in missing)
        return [Say(backstage, "check_in_alert", message(
            "Not checked in for “", user(talk.title), "”, starting now: ", user(names), "."), tuple(chairs))]
    upcoming = next_talk(talks_in_track(schedule, talk.track), talk.start)
    page = track_page(schedule, talk.track, public_url)
    if transition.kind == START:
        training = any(t.id == talk.track and t.kind == "training" for t in schedule.tracks)
        # A training runs for hours and people join it late: its notice says until when, and
        # questions wait for the trainer rather than a Q&A at the end.
        until = f"{talk_end(talk).astimezone(zone):%H:%M}"
        notice = (message("Now: the training ", bold(user(talk.title)), *_by(talk), f", until {until}. "
                          "Questions for the trainer: ", code("!ask <question>"), ".") if training else
                  message("Now: ", bold(user(talk.title)), *_by(talk), ". Ask with ", code("!ask <question>"),
                          ", upvote with 👍."))
        made: list[Effect] = [SetTopic(track, "topic", now_next_topic(talk, upcoming, zone, page)),
                              Say(track, "now_notice", notice)]
        if transition.plenary:
            made.append(Say(ANNOUNCEMENTS_ROOM, "plenary_announcement",
                            message("Now in the plenary: ", bold(user(talk.title)), *_by(talk), ".")))
        return made
    if transition.kind == END:
        made = []
        open_questions = [q for q in questions if q.state == "open"][:HANDED_OVER]
        if open_questions:
            made.append(Say(talk_key(talk.id), "questions_handed_over", message(
                "Questions still open for “", user(talk.title), "”:").items(
                    (bold(q.label), f" · {q.votes} 👍 · ", user(q.asker_name), ": ", user(q.text))
                    for q in open_questions), speakers))
        breakout = room(links, talk_key(talk.id), place_name(schedule, talk_key(talk.id)))
        after = message("“", user(talk.title), "” has ended. Meet the speakers in its breakout room: ", breakout, ".")
        if upcoming is not None:
            after = after.line("Up next at ", _time(upcoming, zone), ": ", bold(user(upcoming.title)), *_by(upcoming),
                               ".")
        made.append(Say(track, "handoff", after))
        following = next_talk(talks_in_track(schedule, talk.track), talk_end(talk))
        made.append(SetTopic(track, "topic", now_next_topic(None, following, zone, page)))
        return made
    return []


def session_effects(transition: Transition, booking: Booking, schedule: Schedule, *,
                    restore: tuple[str, str]) -> list[Effect]:
    """The effects of an open-space booking's ``transition``; ``restore`` is the (name, topic)
    the room's template gives it, which it gets back at the end."""
    slot, room = booking_slot(booking, schedule), session_room(schedule, booking.room)
    if slot is None or room is None:
        return []
    zone = ZoneInfo(schedule.conference.timezone)
    key, title = open_space_key(room.id), bold(user(booking.title))
    until = f"{slot.end.astimezone(zone):%H:%M}"
    if transition.kind == SESSION_REMIND:
        return [Say(key, "session_reminder", message(
            link(user_link(booking.booker), user(booking.booker_name)), ": your open-space session ", title,
            f" starts here at {slot.start.astimezone(zone):%H:%M} (until {until}). Cancel it with ",
            code("!openspace cancel"), " if you cannot make it."), (booking.booker,), notice=False)]
    if transition.kind == SESSION_START:
        return [SetName(key, "session_room", session_name(booking, room)),
                SetTopic(key, "session_room", session_topic(booking, slot.end, zone, video_call(schedule, room))),
                Say(key, "session_notice", message("Now here: ", title, " — by ", user(booking.booker_name),
                                                    f", until {until}."))]
    if transition.kind == SESSION_END:
        return [SetName(key, "session_room", restore[0]), SetTopic(key, "session_room", restore[1])]
    return []


def poster_effects(transition: Transition, schedule: Schedule) -> list[Effect]:
    """The effects of a poster session's ``transition``, all in the poster's room: its presenters
    reminded (a text that notifies them), then a notice at the start and at the end."""
    poster_id = object_id(transition.track_id)
    poster = next((p for p in schedule.posters if p.id == poster_id), None)
    if poster is None:
        return []
    zone = ZoneInfo(schedule.conference.timezone)
    room, title = transition.track_id, bold(user(poster.title))
    presenters = tuple(p.matrix_id for p in poster.presenters if p.matrix_id)
    names = ", ".join(p.name for p in poster.presenters)
    with_them = (" — with ", user(names)) if names else ()
    if transition.kind == POSTER_REMIND:  # for the session that starts next
        starts = min((s for s in poster.sessions if s.start > transition.at), key=lambda s: s.start, default=None)
        if starts is None:
            return []
        return [Say(room, "poster_reminder", message(
            "Presenters: the poster session for ", title, f" starts here at {starts.start.astimezone(zone):%H:%M} "
            f"(until {starts.end.astimezone(zone):%H:%M}). Join the video call at the top of the room."),
            presenters, notice=False)]
    if transition.kind == POSTER_START:
        session = next((s for s in poster.sessions if s.start == transition.at), None)
        until = f", until {session.end.astimezone(zone):%H:%M}" if session else ""
        return [Say(room, "poster_session", message(
            "Now here: the poster session for ", title, *with_them, until,
            ". Join the video call at the top of this room to meet the presenters."))]
    if transition.kind == POSTER_END:
        return [Say(room, "poster_session", message(
            "The poster session for ", title, " has ended. Leave your questions for the presenters here."))]
    return []


def now_next_topic(now: Talk | None, upcoming: Talk | None, zone: tzinfo, page: tuple[str, str]) -> str:
    """The track room's topic while the clock runs: what is on, what is next, and the link to
    its page (for clients without widgets)."""
    parts = [f"Now: {now.title}{_names(now)}" if now else "Now: nothing on"]
    if upcoming is not None:
        parts.append(f"Next at {upcoming.start.astimezone(zone):%H:%M}: {upcoming.title}{_names(upcoming)}")
    parts.append(f"{page[0]}: {page[1]}")
    return " · ".join(parts)


def _time(talk: Talk, zone: tzinfo) -> str:
    return f"{talk.start.astimezone(zone):%H:%M}"


def _names(talk: Talk) -> str:
    return f" — {', '.join(p.name for p in talk.speakers)}" if talk.speakers else ""


def _by(talk: Talk) -> tuple:
    return (" — ", user(", ".join(p.name for p in talk.speakers))) if talk.speakers else ()
