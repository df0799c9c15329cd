"""Who may invite: only staff (power 50 and up), in every room of the conference.

An invitation passes every join rule, ``restricted`` and ``invite`` alike, so a member who may
invite can let anyone in: someone without a ticket, into the tracks, the sponsors' booths, the
backstage. Against the real Synapse, an attendee and a speaker try it in a room of every kind the
templates make; a moderator may. Rooms an earlier Podium made with everyone allowed to invite are
repaired by ``apply``, one power-levels write each, and a second plan is empty.
"""

from __future__ import annotations

import shutil

import yaml

from bot.cli import apply_conference
from bot.matrix import MatrixAdapter, MatrixError
from bot.provisioning.apply import observe
from bot.provisioning.desired import Settings
from bot.provisioning.pipeline import DEFAULT_PUBLIC_URL, build
from bot.provisioning.planner import SetState, plan
from bot.provisioning.templates import BUNDLED_TEMPLATES, KINDS
from bot.roomstate.state import POWER_LEVELS
from tests.support.live import LiveSetup, write_live_schedule


def every_kind(ids: dict[str, str]) -> dict:
    """Behind an invite-only space, a room of every kind: a poster, a sponsor's booth, a helpdesk
    (and its staff room) and an open-space room beside the track, its backstage and breakouts."""
    return {
        "conference": {"access": "space-members"},
        "posters": [{"id": "p1", "title": "A poster", "presenters": [{"name": "Pat"}]}],
        "sponsors": [{"id": "acme", "name": "Acme", "staff": [ids["mod"]]}],
        "helpdesks": [{"id": "desk", "name": "Desk", "staff": [ids["mod"]]}],
        "open_space": {"rooms": [{"id": "os1", "name": "Open 1"}],
                       "slots": [{"start": "2026-07-13 13:00", "duration": 30}]},
    }


#: Ann is an attendee, Sam the first talk's speaker; nobody joins anything yet, no bot answers.
LIVE = LiveSetup(people=(("ann", "Ann"),), speaker=True, extra=every_kind, rooms={}, joins={}, bot_running=False)

#: A room of each kind the templates make, by the alias it has without the conference id.
ROOMS = {
    "space": "",
    "lobby": "-hallway",
    "track": "-track-forum",
    "backstage": "-backstage-forum",
    "breakout": "-talk-t1",
    "poster": "-poster-room-p1",
    "sponsor": "-sponsor-acme",
    "helpdesk": "-help-desk",
    "helpdesk-staff": "-help-desk-staff",
    "open-space": "-open-os1",
}


def as_person(live, name: str) -> MatrixAdapter:
    person = getattr(live, name)
    return MatrixAdapter(live.homeserver, person.user_id, live.tokens[name])


async def let_in(live, rooms: dict[str, str]) -> None:
    """Ann and Sam in every room, as members without staff power: the bot invites them to the
    space and the invite-only rooms (as `podium invite` and apply would), the rest they join."""
    async with MatrixAdapter(live.homeserver, live.connection.user_id, live.connection.access_token or "") as bot:
        for kind in ("space", "backstage", "helpdesk-staff"):
            for person in (live.ann, live.sam):
                if await bot.membership(rooms[kind], person.user_id) != "invite":
                    await bot.invite(rooms[kind], person.user_id, what=f"invite {person.user_id} to the {kind}")
    for person in (live.ann, live.sam):
        for room_id in rooms.values():  # the space first: it is the key to the restricted rooms
            await person.join(room_id)


async def invite_refused(adapter: MatrixAdapter, room_id: str, user_id: str) -> bool:
    try:
        await adapter.invite(room_id, user_id, what="invite someone without a ticket")
    except MatrixError as exc:
        assert exc.status == 403, exc  # refused for want of power, not for anything else
        return True
    return False


async def test_only_staff_may_invite_in_every_room_kind(live, make_user):
    assert set(ROOMS) == set(KINDS), "a room of every kind the templates make"
    conf_id = live.conf.conf_id
    async with as_person(live, "mod") as mod:
        rooms = {kind: await mod.resolve_alias(f"#{conf_id}{suffix}:localhost") for kind, suffix in ROOMS.items()}
    await let_in(live, rooms)

    let_through: dict[str, list[str]] = {}
    for name in ("ann", "sam"):
        outsider, _ = make_user(f"outsider-of-{name}")  # no ticket, in no room
        async with as_person(live, name) as person:
            let_through[name] = [kind for kind, room_id in rooms.items()
                                 if not await invite_refused(person, room_id, outsider)]
    assert let_through == {"ann": [], "sam": []}, (
        f"attendee invited an outsider into {len(let_through['ann'])} of {len(rooms)} room kinds, "
        f"speaker into {len(let_through['sam'])}: {let_through}")

    # Staff still may: the moderator brings a guest into the backstage.
    guest, _ = make_user("guest")
    async with as_person(live, "mod") as mod:
        await mod.join(rooms["backstage"], what="join the backstage")
        assert not await invite_refused(mod, rooms["backstage"], guest)
        assert await mod.membership(rooms["backstage"], guest) == "invite"


async def test_apply_takes_the_invite_level_back_in_rooms_made_when_anyone_could_invite(live, make_user, tmp_path):
    """Rooms an earlier Podium made (invite at power 0) get invite 50 back from the next apply:
    one power-levels write per room, keeping who has which power, and a second plan is empty."""
    earlier = tmp_path / "earlier-templates"
    shutil.copytree(BUNDLED_TEMPLATES, earlier)
    base = yaml.safe_load((earlier / "_base.yaml").read_text())
    base["power_levels"]["invite"] = 0
    (earlier / "_base.yaml").write_text(yaml.safe_dump(base))
    space = yaml.safe_load((earlier / "space.yaml").read_text())
    space["power_levels"]["invite"] = 50  # the space alone was staff's to invite to
    (earlier / "space.yaml").write_text(yaml.safe_dump(space))

    ids = {"mod": live.mod.user_id}
    path, conf_id = write_live_schedule(tmp_path, moderator=live.mod.user_id, speaker=live.conf.speaker,
                                        extra=every_kind(ids))
    settings = Settings("localhost", live.connection.user_id, DEFAULT_PUBLIC_URL)
    assert await apply_conference(build(path, settings, earlier), live.connection, None, quiet=True) == 0

    conference = build(path, settings)
    bot = MatrixAdapter(live.homeserver, live.connection.user_id, live.connection.access_token or "")
    async with bot:
        version = await bot.default_room_version()
        observed = await observe(bot, conference.rooms, conf_id)
        repair = plan(conference.rooms, observed, bot_user_id=live.connection.user_id, room_version=version)
        writes = [a for a in repair.actions if isinstance(a, SetState)]
        inside = sorted(room.key for room in conference.rooms if not room.is_space)
        assert sorted(a.key for a in writes) == inside, "one write in every room but the space, which had it"
        assert all(a.event_type == POWER_LEVELS and "invite 0 → 50" in a.reason for a in writes), writes
        assert repair.actions == writes, "nothing but the power levels"

        assert await apply_conference(conference, live.connection, None, quiet=True) == 0
        observed = await observe(bot, conference.rooms, conf_id)
        again = plan(conference.rooms, observed, bot_user_id=live.connection.user_id, room_version=version)
        assert again.actions == [], [a.describe() for a in again.actions]
        for room in conference.rooms:
            levels = observed.rooms[room.key].state[(POWER_LEVELS, "")]
            assert levels["invite"] == 50, room.key
            assert levels["users"][live.mod.user_id] == 50, "the moderator keeps their power"
