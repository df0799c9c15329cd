"""podium import against a real pretalx (see tests/support/pretalx.py): its JSON export, its XML export
and its REST API give the same schedule; that schedule plans the expected rooms on the session's
Synapse; a schedule change released in pretalx re-imports as exactly that change, with what the
organisers added kept."""

from __future__ import annotations

import json

from bot.cli import main
from bot.conference.schedule import Schedule, load_schedule
from tests.support.pretalx import (  # noqa: F401
    EVENT,
    MATRIX_QUESTION,
    PretalxServer,
    pretalx,
    pretalx_copy,
    programme_of,
    run_import,
)
from tests.support.provisioning import podium


def public_programme(server: PretalxServer) -> tuple[set[str], set[str], set[str]]:
    """The codes, rooms and speakers of every talk in the released schedule, as pretalx's API lists them."""
    latest = server.api("GET", "schedules/latest/")
    codes, rooms, speakers = set(), set(), set()
    url = f"slots/?schedule={latest['id']}&expand=room,submission,submission.speakers&page_size=100"
    while url:
        page = server.api("GET", url)
        for slot in page["results"]:
            if slot["submission"] and slot["submission"]["state"] == "confirmed" and slot["start"]:
                codes.add(slot["submission"]["code"])
                rooms.add(slot["room"]["name"]["en"])
                speakers.update(s["name"] for s in slot["submission"]["speakers"])
        url = page["next"] and page["next"].split(f"/api/events/{EVENT}/", 1)[1]
    return codes, rooms, speakers


def test_the_json_export_the_xml_export_and_the_api_give_the_same_schedule(pretalx, tmp_path, capsys,  # noqa: F811
                                                                           monkeypatch):
    sources = {
        "json": f"{pretalx.event_url}/schedule/export/schedule.json",
        "xml": f"{pretalx.event_url}/schedule/export/schedule.xml",
        "api": pretalx.api_url,
    }
    schedules = {}
    for name, url in sources.items():
        extra = ("--matrix-question", MATRIX_QUESTION) if name == "api" else ()
        code, out = run_import(capsys, monkeypatch, pretalx, url, tmp_path / f"{name}.yaml", *extra)
        assert code == 0, out
        assert main(["validate", "--schedule", str(tmp_path / f"{name}.yaml")]) == 0
        schedules[name] = load_schedule(tmp_path / f"{name}.yaml")
    assert programme_of(schedules["json"]) == programme_of(schedules["xml"]) == programme_of(schedules["api"])

    codes, rooms, speakers = public_programme(pretalx)
    api = schedules["api"]
    assert {t.ref for t in api.talks} == codes and len(codes) == 36
    assert {t.name for t in api.tracks} == rooms
    assert {p.name for t in api.talks for p in t.speakers} == speakers
    # The speakers who answered the Matrix-ID question have their IDs, and only they.
    answered = {p.matrix_id for t in api.talks for p in t.speakers if p.matrix_id}
    assert answered == set(pretalx.tokens["answered"].values())
    assert api.conference.id == EVENT and api.conference.timezone == "Europe/Berlin"


def test_an_imported_schedule_plans_its_rooms_on_a_real_homeserver(pretalx, bot, synapse, tmp_path, capsys,  # noqa: F811
                                                                    monkeypatch):
    into = tmp_path / "schedule.yaml"
    code, out = run_import(capsys, monkeypatch, pretalx, f"{pretalx.event_url}/schedule/export/schedule.json", into)
    assert code == 0, out
    schedule = load_schedule(into)
    code, out, err = podium(monkeypatch, capsys, bot, synapse.base_url, "plan", "--schedule", str(into))
    assert code == 2, out + err
    created = {line.split()[1] for line in out.splitlines() if line.startswith("+ #")}
    expected = {f"#{EVENT}:localhost"}
    expected |= {f"#{EVENT}-track-{t.id}:localhost" for t in schedule.tracks}
    expected |= {f"#{EVENT}-backstage-{t.id}:localhost" for t in schedule.tracks}
    expected |= {f"#{EVENT}-talk-{t.id}:localhost" for t in schedule.talks}
    assert expected <= created, sorted(expected - created)
    assert "#democon-track-light-sea-green-room:localhost" in created


def released_change(server: PretalxServer, *, move: str, rename: str, withdraw: str) -> None:
    """In pretalx: ``move`` an hour earlier (same length), ``rename`` a talk, cancel ``withdraw``,
    and release the schedule as v1.1."""
    wip = next(s for s in server.api("GET", "schedules/")["results"] if s["version"] == "wip")
    slot = server.api("GET", f"slots/?schedule={wip['id']}&submission={move}")["results"][0]
    submission = server.api("GET", f"submissions/{move}/")
    earlier = slot["start"].replace("T09:", "T08:")
    assert earlier != slot["start"], slot
    server.api("PATCH", f"slots/{slot['id']}/", {"start": earlier})
    # The slot keeps its end when its start is patched; setting the duration again re-fits it.
    server.api("PATCH", f"submissions/{move}/", {"duration": submission["duration"]})
    server.api("PATCH", f"submissions/{rename}/", {"title": "A renamed talk"})
    server.api("POST", f"submissions/{withdraw}/cancel/")
    server.api("POST", "schedules/release/", {"version": "v1.1"})


ADDITIONS = {
    "stream": "https://video.example.org/democon/main.m3u8",
    "chair": "@chair:example.org",
    "speaker_id": "@whitney:example.org",
}


def test_a_released_change_reimports_as_exactly_that_change_and_keeps_the_additions(pretalx_copy, tmp_path, capsys,  # noqa: F811
                                                                                     monkeypatch):
    server = pretalx_copy
    into = tmp_path / "schedule.yaml"
    code, out = run_import(capsys, monkeypatch, server, server.api_url, into, "--matrix-question", MATRIX_QUESTION)
    assert code == 0, out
    before = load_schedule(into)
    first_track = before.tracks[0].id
    moved = next(t for t in before.talks if f"{t.start:%H:%M}" == "09:00" and t.track == first_track)
    renamed, withdrawn = [t for t in before.talks if t.ref != moved.ref and t.track == first_track][1:3]
    speaker = moved.speakers[0].name
    assert moved.speakers[0].matrix_id is None

    # What the organisers add by hand: a stream, a chair, a speaker's Matrix ID, a comment, a poster.
    text = into.read_text(encoding="utf-8")
    text = text.replace(f"  - id: {first_track}\n", f"  - id: {first_track}   # the main room\n"
                                                     f"    stream: {ADDITIONS['stream']}\n"
                                                     f"    chairs: ['{ADDITIONS['chair']}']\n", 1)
    text = text.replace(f"      - {speaker}\n", f"      - {{name: {speaker}, matrix_id: '{ADDITIONS['speaker_id']}'}}\n")
    text += "posters:\n  - id: results\n    title: Our survey results\n"
    into.write_text(text, encoding="utf-8")
    assert main(["validate", "--schedule", str(into)]) == 0
    organised = load_schedule(into)

    released_change(server, move=moved.ref, rename=renamed.ref, withdraw=withdrawn.ref)
    code, out = run_import(capsys, monkeypatch, server, f"{server.event_url}/schedule/export/schedule.json", into,
                           "--dry-run")
    assert code == 2 and into.read_text(encoding="utf-8") == text, out
    code, out = run_import(capsys, monkeypatch, server, server.api_url, into, "--matrix-question", MATRIX_QUESTION)
    assert code == 0, out
    # The summary groups its lines by kind of change, each line indented under its kind's heading.
    changes = [line.strip() for line in out.splitlines() if line.strip()[:2] in ("+ ", "~ ", "- ", "! ")]
    assert changes == [
        # pretalx's test event is made around the day it is set up: its day is read, never written in.
        f"~ talk {moved.id} ({moved.ref}): moved from {moved.start:%a %d %b} 09:00 to {moved.start:%a %d %b} 08:00",
        f"~ talk {renamed.id} ({renamed.ref}): renamed from \"{renamed.title}\" to \"A renamed talk\"",
        # Cancelled in pretalx after it was announced: the API says so, and it stays, marked cancelled.
        f"~ talk {withdrawn.id} ({withdrawn.ref}): cancelled",
    ], out

    after = load_schedule(into)
    assert after.talk(moved.id).ref == moved.ref and f"{after.talk(moved.id).start:%H:%M}" == "08:00"
    assert after.talk(moved.id).duration == moved.duration
    assert after.talk(moved.id).speakers[0].matrix_id == ADDITIONS["speaker_id"]
    assert after.talk(renamed.id).title == "A renamed talk"
    assert after.track(first_track).stream == ADDITIONS["stream"]
    assert after.track(first_track).chairs == [ADDITIONS["chair"]]
    assert [p.id for p in after.posters] == ["results"]
    assert "# the main room" in into.read_text(encoding="utf-8")
    assert after.talk(withdrawn.id).cancelled
    unchanged = [t for t in organised.talks if t.ref not in (moved.ref, renamed.ref, withdrawn.ref)]
    assert all(after.talk(t.id) == t for t in unchanged)

    code, out = run_import(capsys, monkeypatch, server, f"{server.event_url}/schedule/export/schedule.xml", into,
                           "--prune")
    assert code == 0 and f"- talk {withdrawn.id} ({withdrawn.ref})" in out, out
    assert withdrawn.id not in {t.id for t in load_schedule(into).talks}
    assert json.loads(server.fetch(f"/{EVENT}/schedule/export/schedule.json"))["schedule"]["version"] == "v1.1"
