"""The helpdesk, ``!mod`` and ``!announce`` as plain logic: their pure rules, their stores (an
SQLite database in memory), and their commands dispatched with a transport that records what
would be sent. tests/live/test_selfservice_live.py runs the same against the real Synapse.
"""

from __future__ import annotations


import pytest

from bot.commands import Room
from bot.conference import announcements, helpdesk, modcall
from bot.conference.display import place_name
from bot.conference.roles import Role, role_of, room_staff
from bot.conference.schedule import load_schedule
from bot.conference.userinput import UsageError
from bot.matrix import MatrixError
from bot.store.announcements import SENDING, SENT, AnnouncementStore
from bot.store.modcalls import ModCallStore
from bot.store.schema import open_database
from bot.store.tickets import TicketStore
from bot.wording import age, ago
from tests.support.commands import Recorder, bodies
from tests.support.commands import dispatch as dispatch_in
from tests.support.live import write_live_schedule

CONF = "c1"


@pytest.fixture
def schedule(tmp_path):
    path, _ = write_live_schedule(tmp_path, moderator="@mod:x", speaker="@sam:x", extra={
        "helpdesks": [{"id": "desk", "name": "Help <desk>", "staff": ["@hana:x"]}, {"id": "av", "name": "AV team"}]})
    return load_schedule(path)


# ----------------------------------------------------------------------------- pure rules


def test_which_helpdesk_a_room_asks_and_where_a_moderator_is_called():
    desks, tracks = ["desk", "av"], ["forum"]
    assert [helpdesk.desk_of(key, desks) for key in ("helpdesk/av", "helpdesk-staff/desk", "lobby/info-desk",
                                                     "helpdesk/gone", "track/forum")] == ["av", "desk", "desk",
                                                                                          None, None]
    assert helpdesk.desk_of("lobby/info-desk", []) is None
    assert modcall.moderators_room("talk/t1", "forum", desks, tracks) == "backstage/forum"
    assert modcall.moderators_room("helpdesk/av", None, desks, tracks) == "helpdesk-staff/av"
    assert modcall.moderators_room("lobby/hallway", None, desks, tracks) == "helpdesk-staff/desk"
    assert modcall.moderators_room("lobby/hallway", None, [], tracks) == "backstage/forum"
    assert modcall.moderators_room("lobby/hallway", None, [], []) is None
    assert modcall.moderators_room("track/gone", "gone", desks, tracks) == "helpdesk-staff/desk"


def test_call_limits_per_room_and_per_sender():
    now = 10_000.0
    assert modcall.wait_for_room([], now) == 0
    assert modcall.wait_for_room([now - 60], now) == pytest.approx(modcall.ROOM_WINDOW - 60)
    assert modcall.wait_for_room([now - modcall.ROOM_WINDOW], now) == 0
    assert modcall.wait_for_sender([now - 10, now - 20], now) == 0
    assert modcall.wait_for_sender([now - 10, now - 20, now - 30], now) == pytest.approx(modcall.SENDER_WINDOW - 30)
    assert modcall.check_reason("x" * modcall.MAX_REASON) is None
    assert "at most 300 characters; this has 301" in modcall.check_reason("x" * 301)


def test_ticket_text_and_ages():
    assert helpdesk.check_text("\u200b\u200b  ") == "say what you need help with after !helpdesk"
    assert helpdesk.check_text("no sound") is None
    assert "at most 500 characters; this one has 501" in helpdesk.check_text("a" * 501)
    assert [age(s) for s in (0, 59, 60, 3599, 3600, 3660, 86_400, 90_000)] == [
        "0 min", "0 min", "1 min", "59 min", "1 h", "1 h 1 min", "1 d", "1 d 1 h"]
    assert ago(30) == "just now" and ago(300) == "5 min ago" and ago(-5) == "just now"


def test_announcement_parsing_and_rooms():
    said = announcements.parse("Lunch moves to 13:00.\n\n  Bring\u202e a plate  ")
    assert said == announcements.Announcement("", ("Lunch moves to 13:00.", "Bring a plate"))
    assert announcements.parse("--TRACKS The stream is back").selector == "--tracks"
    assert announcements.parse("--lobby x").lines == ("x",)
    for args, why in (("", "write the announcement after !announce"), ("--tracks", "write the announcement"),
                      ("\u200b", "write the announcement"), ("--all hi", "there is no option “--all”"),
                      ("x" * 2001, "at most 2000 characters; this one has 2001"),
                      ("x" * 1000 + "\n" + "y" * 1000, "this one has 2001")):
        with pytest.raises(UsageError, match=why):
            announcements.parse(args)
    rooms = [Room(f"!{key}", CONF, key, key.split("/")[0]) for key in
             ("track/b", "lobby/jobs", "backstage/b", "track/a", "lobby/announcements", "helpdesk/d", "talk/t")]
    assert [r.key for r in announcements.targets(rooms, "")] == [
        "lobby/announcements", "lobby/jobs", "track/a", "track/b"]
    assert [r.key for r in announcements.targets(rooms, "--tracks")] == ["track/a", "track/b"]
    assert [r.key for r in announcements.targets(rooms, "--lobby")] == ["lobby/announcements", "lobby/jobs"]


def test_room_names_as_the_templates_give_them(schedule):
    assert [place_name(schedule, key) for key in ("lobby/info-desk", "track/forum", "backstage/forum", "talk/t2",
                                                  "helpdesk/desk", "helpdesk-staff/av", "lobby/gone", "space")] == [
        "Info desk", "Forum Hall", "Backstage · Forum Hall", "Second talk", "Help <desk>", "Staff · AV team",
        "lobby/gone", "Live <Test>"]


# ----------------------------------------------------------------------------- stores


def _open(store: TicketStore, event: str, conference: str = CONF, desk: str = "desk"):
    return store.open(conference, desk=desk, room_id="!lobby", room_key="lobby/info-desk", asker="@a:x",
                      asker_name="A", text="no sound", asked_at=100.0, source_event_id=event)


def test_tickets_are_numbered_once_per_event_and_never_again():
    store = TicketStore(open_database(":memory:"))
    first, second = _open(store, "$1"), _open(store, "$2")
    assert (first.number, second.number, first.state) == (1, 2, helpdesk.WAITING)
    assert _open(store, "$1") == first, "the same event opens the same ticket"
    assert _open(store, "$3", conference="other").number == 1, "numbers are per conference"
    store.close(CONF, 2, closer_name="H", at=5.0, event_id="$close")
    assert _open(store, "$4").number == 3, "a closed ticket keeps its number"
    assert [t.number for t in store.open_at(CONF, "desk")] == [1, 3]
    assert store.open_at(CONF, "av") == []


def test_one_claim_wins_and_a_replay_finds_its_own_outcome():
    store = TicketStore(open_database(":memory:"))
    _open(store, "$1")
    won = store.claim(CONF, 1, claimer="@h:x", claimer_name="Hana", at=200.0, event_id="$claim-h")
    lost = store.claim(CONF, 1, claimer="@i:x", claimer_name="Ivo", at=200.5, event_id="$claim-i")
    assert won.claim_event_id == lost.claim_event_id == "$claim-h" and lost.claimer_name == "Hana"
    again = store.claim(CONF, 1, claimer="@h:x", claimer_name="Hana", at=300.0, event_id="$claim-h")
    assert again == won, "handled again after a crash: the same winner, the same time"
    assert store.claim(CONF, 99, claimer="@h:x", claimer_name="Hana", at=1.0, event_id="$x") is None
    done = store.close(CONF, 1, closer_name="Ivo", at=400.0, event_id="$done")
    assert (done.state, done.closer_name, done.done_event_id) == (helpdesk.DONE, "Ivo", "$done")
    assert store.close(CONF, 1, closer_name="Hana", at=500.0, event_id="$done2").done_event_id == "$done"
    assert store.claim(CONF, 1, claimer="@i:x", claimer_name="Ivo", at=600, event_id="$late").state == helpdesk.DONE


def test_mod_calls_count_only_calls_before_them():
    store = ModCallStore(open_database(":memory:"))
    store.record("$1", CONF, "!hall", "@a:x", 100.0)
    store.record("$1", CONF, "!hall", "@a:x", 100.0)
    store.record("$2", CONF, "!track", "@a:x", 150.0)
    store.record("$3", CONF, "!hall", "@b:x", 400.0)
    assert store.made("$1") and not store.made("$4")
    assert store.in_room(CONF, "!hall", 0, 120) == [100.0], "a later call does not count against an earlier one"
    assert sorted(store.by_sender(CONF, "@a:x", 0, 1000)) == [100.0, 150.0]
    assert store.in_room("other", "!hall", 0, 1000) == []


def test_an_announcement_keeps_its_rooms_and_each_delivery():
    store = AnnouncementStore(open_database(":memory:"))
    rooms = [("lobby/announcements", "!a"), ("track/forum", "!f")]
    first = store.start("$ann", conference=CONF, sender="@o:x", selector="", text="hi", at=1.0, rooms=rooms)
    assert [(d.room_key, d.state) for d in first] == [("lobby/announcements", "due"), ("track/forum", "due")]
    store.sending("$ann", "lobby/announcements")
    store.sent("$ann", "lobby/announcements", "$posted")
    store.sending("$ann", "track/forum")
    again = store.start("$ann", conference=CONF, sender="@o:x", selector="", text="hi", at=9.0,
                        rooms=[*rooms, ("lobby/hallway", "!h")])
    assert [(d.room_key, d.state, d.posted_event_id) for d in again] == [
        ("lobby/announcements", SENT, "$posted"), ("track/forum", SENDING, None)], "the first run's rooms"


# ----------------------------------------------------------------------------- commands


ROOMS = [Room(f"!{key.replace('/', '-')}:x", CONF, key, key.split("/")[0], "forum" if key.endswith("forum") else None)
         for key in ("lobby/announcements", "lobby/info-desk", "lobby/hallway", "track/forum", "backstage/forum",
                     "helpdesk/desk", "helpdesk-staff/desk")]


def dispatch(schedule, db, body: str, *, rooms=ROOMS, **options):
    """``dispatch_in`` among this module's rooms unless told otherwise."""
    return dispatch_in(schedule, db, body, rooms=rooms, **options)


@pytest.mark.parametrize("body, role, key, reply", [
    ("!claim", Role.MODERATOR, "helpdesk-staff/desk", "say which ticket, e.g. 4 or #4. Usage: !claim <n>"),
    ("!claim x", Role.MODERATOR, "helpdesk-staff/desk", "“x” is not a whole number; say which ticket, e.g. 4 or #4."
                                                        " Usage: !claim <n>"),
    ("!claim 1 2", Role.MODERATOR, "helpdesk/desk", "unexpected “2”; name one ticket. Usage: !claim <n>"),
    ("!claim 999", Role.MODERATOR, "helpdesk-staff/desk", "There is no ticket #999 at the Help <desk>. "
                                                          "!tickets lists the open ones."),
    ("!done #0", Role.MODERATOR, "helpdesk-staff/desk", "“#0” is out of range; say which ticket, e.g. 4 or #4. "
                                                        "Usage: !done <n>"),
    ("!tickets now", Role.MODERATOR, "helpdesk-staff/desk", "!tickets takes nothing after it. Usage: !tickets"),
    ("!tickets", Role.MODERATOR, "helpdesk/desk", "No open tickets at the Help <desk>."),
    ("!claim 1", Role.ATTENDEE, "helpdesk/desk", "Sorry, !claim is for moderators; here you are an attendee."),
    ("!tickets", Role.SPEAKER, "helpdesk/desk", "Sorry, !tickets is for moderators; here you are a speaker."),
    ("!claim 1", Role.ORGANISER, "track/forum", "There is no !claim in this room. Send !help to see what you can "
                                                "do here."),
    ("!helpdesk", Role.ATTENDEE, "lobby/info-desk", "say what you need help with after !helpdesk. "
                                                    "Usage: !helpdesk <what you need help with>"),
    ("!helpdesk help", Role.ATTENDEE, "track/forum", "There is no !helpdesk in this room. Send !help to see what "
                                                     "you can do here."),
    ("!announce", Role.ORGANISER, "lobby/announcements", "write the announcement after !announce. "
                                                         "Usage: !announce [--tracks | --lobby] <text>"),
    ("!announce " + "x" * 2001, Role.ORGANISER, "lobby/announcements",
     "an announcement can be at most 2000 characters; this one has 2001. Usage: !announce [--tracks | --lobby] <text>"),
    ("!announce --everyone hi", Role.ORGANISER, "lobby/announcements",
     "there is no option “--everyone”; the options are --tracks, --lobby. Usage: !announce [--tracks | --lobby] <text>"),
    ("!announce hi", Role.MODERATOR, "lobby/announcements", "Sorry, !announce is for organisers; here you are a "
                                                            "moderator."),
    ("!announce hi", Role.ORGANISER, "lobby/hallway", "Announcements are made in the Announcements room: send "
                                                      "!announce there."),
    ("!mod " + "x" * 301, Role.ATTENDEE, "lobby/hallway", "say what is wrong in at most 300 characters; this has 301. "
                                                          "Usage: !mod [what is wrong]"),
])
def test_bad_arguments_and_wrong_roles_get_one_clear_reply(schedule, body, role, key, reply):
    sent = dispatch(schedule, open_database(":memory:"), body, role=role, key=key)
    assert bodies(sent) == [reply]


def test_help_lists_the_new_commands_by_role_and_room(schedule):
    db = open_database(":memory:")
    staff = bodies(dispatch(schedule, db, "!help", role=Role.MODERATOR, key="helpdesk-staff/desk"))[0]
    assert all(f"!{name}" in staff for name in ("claim <n>", "done <n>", "tickets", "mod [what is wrong]"))
    attendee = bodies(dispatch(schedule, db, "!help", role=Role.ATTENDEE, key="lobby/info-desk", event_id="$2"))[0]
    assert "!helpdesk <what you need help with>" in attendee and "!claim" not in attendee and "!announce" not in attendee
    organiser = bodies(dispatch(schedule, db, "!help", role=Role.ORGANISER, key="lobby/announcements", event_id="$3"))
    assert "!announce [--tracks | --lobby] <text>" in organiser[0]


def test_a_ticket_handled_again_sends_the_same_requests(schedule):
    """After a crash the !helpdesk is handled again: the same ticket, the same sends (the staff
    room's notice, the ticket's post, the command's removal) with the same transaction ids."""
    db = open_database(":memory:")
    first = dispatch(schedule, db, "!helpdesk The <b>sound</b> is gone", role=Role.ATTENDEE, key="lobby/info-desk")
    again = dispatch(schedule, db, "!helpdesk The <b>sound</b> is gone", role=Role.ATTENDEE, key="lobby/info-desk")
    assert first == again and [room for room, _ in first] == ["!helpdesk-staff-desk:x", "!lobby-info-desk:x",
                                                              "!lobby-info-desk:x"]
    assert first[2][1]["redacts"] == "$cmd"
    notice, reply = bodies(first)
    assert notice.startswith("🎫 #1 · A in Info desk: The <b>sound</b> is gone")
    assert "&lt;b&gt;sound&lt;/b&gt;" in first[0][1]["formatted_body"]
    assert reply == ("🎫 A: The <b>sound</b> is gone\n"
                     "Ticket #1 is open: the Help <desk> staff have it and will answer you here.")
    assert len(TicketStore(db).open_at(CONF, "desk")) == 1


def test_the_asker_is_mentioned_where_they_asked(schedule):
    db = open_database(":memory:")
    dispatch(schedule, db, "!helpdesk no sound", role=Role.ATTENDEE, key="lobby/info-desk", event_id="$ask")
    sent = dispatch(schedule, db, "!claim 1", role=Role.MODERATOR, key="helpdesk-staff/desk", event_id="$c",
                    sender="@hana:x")
    (staff_room, claimed), (asker_room, told) = sent
    assert staff_room == "!helpdesk-staff-desk:x" and claimed["body"].startswith("You have #1 · A in Info desk")
    assert asker_room == "!lobby-info-desk:x" and told["m.mentions"] == {"user_ids": ["@a:x"]}
    assert told["msgtype"] == "m.text", "push rules silence notices, mentions and all"
    assert "m.relates_to" not in told, "no quote of the !helpdesk line, which is gone"
    assert '<a href="https://matrix.to/#/@a:x">A</a>: H from the Help &lt;desk&gt; is on your ticket #1' \
        in told["formatted_body"]
    other = dispatch(schedule, db, "!claim #1", role=Role.MODERATOR, key="helpdesk/desk", event_id="$c2",
                     sender="@ivo:x", at_ms=1_800_000_300_000)
    assert bodies(other) == ["#1 is taken: H has it (claimed 5 min ago)."]
    assert bodies(dispatch(schedule, db, "!claim 1", role=Role.MODERATOR, key="helpdesk/desk", event_id="$c3",
                           sender="@hana:x")) == ["#1 is yours already."]


def test_a_person_may_call_three_times_in_ten_minutes_and_a_replay_is_the_same_call(schedule):
    db, at = open_database(":memory:"), 1_800_000_000_000
    where = []
    for n, key in enumerate(("lobby/hallway", "lobby/info-desk", "track/forum")):
        sent = dispatch(schedule, db, "!mod", role=Role.ATTENDEE, key=key, event_id=f"$m{n}", at_ms=at + n * 1000)
        assert bodies(sent)[-1] == f"A moderator has been called to {place_name(schedule, key)}."
        where.append(sent[0][0])
    assert where == ["!helpdesk-staff-desk:x", "!helpdesk-staff-desk:x", "!backstage-forum:x"]
    assert bodies(dispatch(schedule, db, "!mod", role=Role.ATTENDEE, key="helpdesk/desk", event_id="$m3",
                           at_ms=at + 3000)) == [
        "You have called a moderator 3 times in the last 10 minutes; please wait 10 min before calling again."]
    replay = dispatch(schedule, db, "!mod", role=Role.ATTENDEE, key="lobby/hallway", event_id="$m0", at_ms=at)
    assert bodies(replay)[0].startswith("🚨 Moderator wanted in Hallway"), "handled again: sent again, not refused"
    assert bodies(dispatch(schedule, db, "!mod", role=Role.ATTENDEE, key="lobby/hallway", event_id="$m4",
                           sender="@b:x", at_ms=at + 299_000)) == [
        "A moderator was already called to Hallway 4 min ago and is on the way; no need to call again."]


class RefusingRoom(Recorder):
    """A homeserver that refuses posts in one room, for good (403) or for now (502)."""

    def __init__(self, room_id: str, status: int):
        super().__init__()
        self.room_id, self.status, self.tried = room_id, status, []

    async def send(self, room_id, event_type, content, txn_id):
        if room_id == self.room_id:
            self.tried.append(txn_id)
            raise MatrixError(f"send to {room_id}", self.status, "M_FORBIDDEN" if self.status < 500 else "M_UNKNOWN",
                              "no")
        return await super().send(room_id, event_type, content, txn_id)


def announce(schedule, db, transport: Recorder, body: str) -> None:
    dispatch(schedule, db, body, role=Role.ORGANISER, key="lobby/announcements", event_id="$ann", sender="@o:x",
             transport=transport)


def test_an_announcement_a_room_refuses_is_reported_and_one_that_fails_is_sent_again(schedule):
    db = open_database(":memory:")
    refused = RefusingRoom("!lobby-hallway:x", 403)
    announce(schedule, db, refused, "!announce --lobby Doors open")
    *posts, (_, removal, _, _), (_, _, summary, _) = refused.sent
    assert [room for room, *_ in posts] == ["!lobby-announcements:x", "!lobby-info-desk:x"]
    assert removal == "m.room.redaction"
    assert summary["body"].startswith("📣 Announced in 2 rooms: Announcements, Info desk.\nCould not post in 1 room: "
                                      "send to !lobby-hallway:x: HTTP 403 M_FORBIDDEN: no")

    db = open_database(":memory:")
    failing = RefusingRoom("!track-forum:x", 502)
    with pytest.raises(MatrixError):
        announce(schedule, db, failing, "!announce Doors open")
    assert len(failing.sent) == 3, "the three lobby rooms, and no summary yet"
    again = Recorder()
    announce(schedule, db, again, "!announce Doors open")
    (room, _, post, txn), _removal, (_, _, summary, _) = again.sent
    assert room == "!track-forum:x" and post["body"] == "📣 Announcement\nDoors open"
    assert failing.tried == [txn], "sent again with the transaction id it was first sent with"
    assert len({txn, *(t for *_, t in failing.sent)}) == 4, "one transaction id per room"
    assert summary["body"] == "📣 Announced in 4 rooms: Announcements, Hallway, Info desk, Forum Hall."


def test_helpdesk_staff_moderate_their_helpdesk_and_its_staff_room_and_nothing_else(schedule):
    """Named in the schedule, they can !claim before the room's power levels say so."""
    assert room_staff(schedule, "helpdesk/desk") == room_staff(schedule, "helpdesk-staff/desk") == {"@hana:x"}
    assert room_staff(schedule, "helpdesk/av") == set()
    assert room_staff(schedule, "helpdesk-staff/av") == room_staff(schedule, "track/forum") == set()
    assert role_of("@hana:x", power_levels={}, moderators=room_staff(schedule, "helpdesk-staff/desk")) is Role.MODERATOR
    assert role_of("@hana:x", power_levels={}, moderators=room_staff(schedule, "lobby/info-desk")) is Role.ATTENDEE
