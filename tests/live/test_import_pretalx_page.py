"""podium import against a real pretalx (tests/support/pretalx.py), as organisers use it: the event's
web page address copied from the browser, and a talk the organisers cancel in pretalx after the
schedule was announced, which must stay in schedule.yaml marked cancelled, be shown as cancelled
and not be started by the clock."""

from __future__ import annotations

from datetime import timedelta

from bot.cli import main
from bot.conference.clock import live_talk, talks_in_track
from bot.conference.schedule import load_schedule
from bot.conference.transitions import transitions
from bot.web.views import programme_view, track_view
from tests.support.pretalx import MATRIX_QUESTION, pretalx, pretalx_copy, programme_of, run_import  # noqa: F401


class NoRooms:
    """Room links for the page views: none of the rooms exist here."""

    def link(self, key: str) -> None:
        return None

    def alias(self, key: str) -> None:
        return None


def test_the_event_page_address_imports_the_same_schedule_as_its_export(pretalx, tmp_path, capsys,  # noqa: F811
                                                                       monkeypatch):
    code, out = run_import(capsys, monkeypatch, pretalx, f"{pretalx.event_url}/schedule/export/schedule.json",
                           tmp_path / "export.yaml")
    assert code == 0, out
    monkeypatch.delenv("PODIUM_PRETALX_TOKEN", raising=False)
    capsys.readouterr()
    code = main(["import", f"{pretalx.event_url}/", "--into", str(tmp_path / "page.yaml")])
    out = "".join(capsys.readouterr())
    assert code == 0, out
    assert "read the event's export at" in out, out
    assert programme_of(load_schedule(tmp_path / "page.yaml")) == programme_of(load_schedule(tmp_path / "export.yaml"))


def test_a_talk_cancelled_in_pretalx_is_kept_marked_cancelled_shown_so_and_not_started(pretalx_copy, tmp_path,  # noqa: F811
                                                                                       capsys, monkeypatch):
    server = pretalx_copy
    into = tmp_path / "schedule.yaml"
    code, out = run_import(capsys, monkeypatch, server, f"{server.event_url}/", into, "--matrix-question", MATRIX_QUESTION)
    assert code == 0, out
    assert "read its pretalx API at" in out, out
    before = load_schedule(into)
    cancelled = sorted(before.talks, key=lambda t: (t.start, t.id))[0]
    assert not cancelled.cancelled

    # The organisers cancel it in pretalx and release the schedule again.
    server.api("POST", f"submissions/{cancelled.ref}/cancel/")
    assert server.api("GET", f"submissions/{cancelled.ref}/")["state"] == "canceled"
    server.api("POST", "schedules/release/", {"version": "v1.1"})

    code, out = run_import(capsys, monkeypatch, server, f"{server.event_url}/", into,
                           "--matrix-question", MATRIX_QUESTION)
    assert code == 0, out
    changes = [line.strip() for line in out.splitlines() if line.strip()[:2] in ("+ ", "~ ", "- ", "! ")]
    assert changes == [f"~ talk {cancelled.id} ({cancelled.ref}): cancelled"], out
    after = load_schedule(into)
    kept = after.talk(cancelled.id)
    assert kept.cancelled and (kept.start, kept.track, kept.title) == (cancelled.start, cancelled.track, cancelled.title)
    assert main(["validate", "--schedule", str(into)]) == 0

    # Not started: the clock has nothing for it, and while its slot runs no page or command has it on.
    assert cancelled.id not in {t.talk_id for t in transitions(after)}
    during = cancelled.start + timedelta(minutes=1)
    assert live_talk(talks_in_track(after, cancelled.track), during) is None or \
        live_talk(talks_in_track(after, cancelled.track), during).id != cancelled.id
    track = track_view(after, cancelled.track, during, NoRooms(), {})
    assert (track["now"] or {}).get("id") != cancelled.id
    # Shown as cancelled on the schedule page.
    shown = [talk for day in programme_view(after, during, NoRooms(), {}) for t in day["tracks"]
             for talk in t["talks"] if talk["id"] == cancelled.id]
    assert len(shown) == 1 and shown[0]["cancelled"] and not shown[0]["live"], shown
