"""Speakers' invitations against the real Synapse, through ``podium plan`` and ``apply``: a
Matrix ID written once under ``speakers:`` reaches the backstage of every track the speaker talks
in; when a talk moves to another track its speakers' invitations move with it (a pending one
withdrawn, someone who joined removed, with a reason), the plan says so and is empty after the
apply; and people Podium did not invite as speakers there (staff, someone a moderator invited by
hand) are left where they are."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import yaml

from bot.matrix import MatrixAdapter
from tests.support.provisioning import podium


def schedule(tmp_path: Path, *, moderator: str, speakers: list[dict], talks: list[dict]) -> tuple[Path, str]:
    conf_id = f"spk{uuid.uuid4().hex[:8]}"
    data = {
        "conference": {"id": conf_id, "name": "Speakers Con", "timezone": "UTC", "start": "2026-07-13",
                       "end": "2026-07-13"},
        "staff": {"moderators": [moderator]},
        "lobby": [],
        **({"speakers": speakers} if speakers else {}),
        "tracks": [{"id": "forum", "name": "Forum"}, {"id": "south", "name": "South"}],
        "talks": talks,
    }
    path = tmp_path / "schedule.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path, conf_id


def talk(talk_id: str, track: str, hour: int, *speakers: str | dict) -> dict:
    return {"id": talk_id, "track": track, "title": talk_id.title(), "start": f"2026-07-13 {hour:02d}:00",
            "duration": 30, "speakers": list(speakers)}


def memberships(homeserver: str, token: str, user_id: str, rooms: dict[str, str],
                people: dict[str, str]) -> dict[tuple[str, str], str | None]:
    """(room, person) → membership, as the homeserver has it now."""
    async def run() -> dict[tuple[str, str], str | None]:
        async with MatrixAdapter(homeserver, user_id, token) as bot:
            return {(room, name): await bot.membership(room_id, person)
                    for room, room_id in rooms.items() for name, person in people.items()}

    return asyncio.run(run())


def backstages(homeserver: str, token: str, user_id: str, conf_id: str) -> dict[str, str]:
    async def run() -> dict[str, str]:
        async with MatrixAdapter(homeserver, user_id, token) as bot:
            return {track: await bot.resolve_alias(f"#{conf_id}-backstage-{track}:localhost")
                    for track in ("forum", "south")}

    return asyncio.run(run())


def as_person(homeserver: str, user_id: str, token: str, action) -> None:
    async def run() -> None:
        async with MatrixAdapter(homeserver, user_id, token) as person:
            await action(person)

    asyncio.run(run())


def test_an_id_in_the_speakers_section_reaches_every_backstage_of_that_speaker(bot, synapse, make_user, tmp_path,
                                                                               monkeypatch, capsys):
    ada, _ = make_user("ada")
    mod, _ = make_user("mod")
    path, conf_id = schedule(tmp_path, moderator=mod, speakers=[{"name": "Ada Quill", "matrix_id": ada}],
                             talks=[talk("first", "forum", 10, "Ada Quill"), talk("second", "south", 11, "Ada Quill")])
    code, out, err = podium(monkeypatch, capsys, bot, synapse.base_url, "apply", "--schedule", str(path), "--quiet")
    assert code == 0, out + err
    rooms = backstages(synapse.base_url, bot.access_token, bot.user_id, conf_id)
    seen = memberships(synapse.base_url, bot.access_token, bot.user_id, rooms, {"ada": ada})
    assert seen == {("forum", "ada"): "invite", ("south", "ada"): "invite"}


def test_a_moved_talk_moves_its_speakers_invitations_and_leaves_the_others_alone(bot, synapse, make_user, tmp_path,
                                                                                monkeypatch, capsys):
    ada, _ = make_user("ada")  # never answers her invitation
    bo, bo_token = make_user("bo")  # joins the backstage
    cy, _ = make_user("cy")  # speaks in forum before and after
    guest, _ = make_user("guest")  # a moderator brings her into the forum's backstage by hand
    mod, mod_token = make_user("mod")
    people = {"ada": ada, "bo": bo, "cy": cy, "guest": guest, "mod": mod}
    # Their IDs on the talks, as schedules written before the speakers section have them.
    path, conf_id = schedule(tmp_path, moderator=mod, speakers=[], talks=[
        talk("first", "forum", 10, {"name": "Ada Quill", "matrix_id": ada}, {"name": "Bo Jensen", "matrix_id": bo}),
        talk("second", "forum", 11, {"name": "Cy Lind", "matrix_id": cy})])
    code, out, err = podium(monkeypatch, capsys, bot, synapse.base_url, "apply", "--schedule", str(path), "--quiet")
    assert code == 0, out + err
    rooms = backstages(synapse.base_url, bot.access_token, bot.user_id, conf_id)

    async def bo_joins(person: MatrixAdapter) -> None:
        await person.join(rooms["forum"], what="join the backstage")

    async def mod_invites_the_guest(person: MatrixAdapter) -> None:
        await person.join(rooms["forum"], what="join the backstage")
        await person.invite(rooms["forum"], guest, what="invite a guest by hand")

    as_person(synapse.base_url, bo, bo_token, bo_joins)
    as_person(synapse.base_url, mod, mod_token, mod_invites_the_guest)

    # The first talk moves to the south track; the second stays.
    data = yaml.safe_load(path.read_text())
    data["talks"][0]["track"] = "south"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    code, out, err = podium(monkeypatch, capsys, bot, synapse.base_url, "plan", "--schedule", str(path))
    assert code == 2, out + err
    forum = f"#{conf_id}-backstage-forum:localhost"
    block = out.split(forum, 1)[1].split("\n~ ", 1)[0].split("\n+ ", 1)[0]
    assert f"withdraw the invitation of {ada}: no talk in this track any more" in block, out
    assert f"remove {bo}: no talk in this track any more" in block, out
    assert cy not in block and guest not in block and mod not in block, out

    code, out, err = podium(monkeypatch, capsys, bot, synapse.base_url, "apply", "--schedule", str(path), "--quiet")
    assert code == 0, out + err
    seen = memberships(synapse.base_url, bot.access_token, bot.user_id, rooms, people)
    assert seen == {
        ("forum", "ada"): "leave", ("forum", "bo"): "leave", ("forum", "cy"): "invite",
        ("forum", "guest"): "invite", ("forum", "mod"): "join",
        ("south", "ada"): "invite", ("south", "bo"): "invite", ("south", "cy"): None,
        ("south", "guest"): None, ("south", "mod"): "invite",
    }
    code, out, err = podium(monkeypatch, capsys, bot, synapse.base_url, "plan", "--schedule", str(path))
    assert code == 0 and "No changes" in out, out + err

    # Moved back, each is invited to the forum's backstage again, and leaves the south's.
    data["talks"][0]["track"] = "forum"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    code, out, err = podium(monkeypatch, capsys, bot, synapse.base_url, "apply", "--schedule", str(path), "--quiet")
    assert code == 0, out + err
    seen = memberships(synapse.base_url, bot.access_token, bot.user_id, rooms, {"ada": ada, "bo": bo})
    assert seen == {("forum", "ada"): "invite", ("forum", "bo"): "invite",
                    ("south", "ada"): "leave", ("south", "bo"): "leave"}
    code, out, err = podium(monkeypatch, capsys, bot, synapse.base_url, "plan", "--schedule", str(path))
    assert code == 0 and "No changes" in out, out + err
