"""What the web pages show, without a server: stream URLs, delays, now/next, the Q&A board's
filtering and poll bars (``bot.web.views`` is pure)."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone

import pytest

from bot import SAMPLE_SCHEDULE
from bot.conference.clock import apply_delays
from bot.conference.polls import PollView
from bot.conference.qa import Question
from bot.conference.schedule import load_schedule
from bot.web import views

SCHEDULE = load_schedule(SAMPLE_SCHEDULE)
AT_1010 = datetime(2026, 7, 13, 8, 10, tzinfo=timezone.utc)  # Monday 10:10 in Prague
ROOMS = views.RoomLinks({"track/forum": "ep2026-track-forum", "talk/typing-in-practice": "ep2026-talk-typing"},
                        "example.org")


@pytest.mark.parametrize("given, embed", [
    ("https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=10", "https://www.youtube.com/embed/dQw4w9WgXcQ"),
    ("https://youtu.be/dQw4w9WgXcQ", "https://www.youtube.com/embed/dQw4w9WgXcQ"),
    ("https://www.youtube.com/live/dQw4w9WgXcQ?si=x", "https://www.youtube.com/embed/dQw4w9WgXcQ"),
    ("https://www.youtube.com/embed/abc123def", "https://www.youtube.com/embed/abc123def"),
    ("https://vimeo.com/76979871", "https://player.vimeo.com/video/76979871"),
    ("https://peertube.example/w/9c9de5e8-0a1e-484a-b099-e80766180a6d",
     "https://peertube.example/videos/embed/9c9de5e8-0a1e-484a-b099-e80766180a6d"),
    ("https://tube.example/videos/watch/kkGMgK9ZtnKfYAgnEtQxbv", "https://tube.example/videos/embed/kkGMgK9ZtnKfYAgnEtQxbv"),
    ("https://stream.example.org/player?room=a", "https://stream.example.org/player?room=a"),
    ("javascript:alert(1)", None),
    ("data:text/html,<script>alert(1)</script>", None),
    (None, None),
])
def test_stream_urls_become_embeddable(given, embed):
    assert views.embed_url(given) == embed


def test_hls_is_recognised_by_the_playlist_path():
    assert views.is_hls("https://cdn.example/live/index.m3u8?token=1")
    assert not views.is_hls("https://cdn.example/m3u8/page")
    assert views.origin("https://CDN.example:8443/a/b.m3u8") == "https://cdn.example:8443"
    assert views.origin("javascript:alert(1)") is None


def test_delays_shift_one_track_and_leave_the_schedule_alone():
    delayed = apply_delays(SCHEDULE, {"south": 15, "forum": 0})
    south = {t.id: t.start for t in delayed.talks if t.track == "south"}
    original = {t.id: t.start for t in SCHEDULE.talks if t.track == "south"}
    assert all((south[k] - original[k]).total_seconds() == 900 for k in original)
    assert [t.start for t in delayed.talks if t.track == "forum"] == [t.start for t in SCHEDULE.talks if t.track == "forum"]
    assert apply_delays(SCHEDULE, None) is SCHEDULE
    view = views.now_next_view(delayed, AT_1010, ROOMS, {"south": 15})
    south_view = next(t for t in view["tracks"] if t["id"] == "south")
    assert south_view["now"] is None and south_view["next"]["start"] == "10:15" and south_view["delay_min"] == 15


def test_now_next_links_rooms_by_alias():
    view = views.now_next_view(SCHEDULE, AT_1010, ROOMS, None)
    forum = next(t for t in view["tracks"] if t["id"] == "forum")
    assert forum["link"] == "https://matrix.to/#/#ep2026-track-forum:example.org"
    assert forum["now"]["link"] == "https://matrix.to/#/#ep2026-talk-typing:example.org"
    assert forum["next"]["starts_in_min"] == 35 and forum["next"]["when"] == "10:45"
    plenary = next(t for t in view["tracks"] if t["id"] == "plenary")
    assert plenary["link"] is None, "a room the server does not know is not linked"
    tuesday = views.now_next_view(SCHEDULE, datetime(2026, 7, 13, 16, 0, tzinfo=timezone.utc), ROOMS, None)
    forum = next(t for t in tuesday["tracks"] if t["id"] == "forum")
    assert forum["next"]["when"] == "Tue 14 Jul, 10:00", "another day shows the day"


def _question(number, talk, *, state="open", name="Ada", votes=1, pinned=False):
    return Question(number=number, room_id="!r:x", track_id="forum", talk_id=talk, asker=f"@u{number}:x",
                    asker_name=name, text=f"q{number}", asked_at=0.0, votes=votes, state=state, pinned=pinned,
                    event_id=None)


def test_qa_board_shows_the_live_talk_without_hidden_questions_or_ids():
    questions = [
        _question(1, "typing-in-practice", votes=5, pinned=True),
        _question(2, "typing-in-practice", state="hidden"),
        _question(3, "typing-in-practice", state="answered", name="@carol:example.org"),
        _question(4, "asyncio-patterns"),
        _question(5, None, name=""),
    ]
    board = views.qa_view(SCHEDULE, "forum", AT_1010, questions, moderator=True)
    assert board["talk"]["title"] == "Gradual typing in a million-line codebase"
    assert [q["number"] for q in board["open"]] == [1] and board["open"][0]["pinned"]
    assert [(q["number"], q["name"]) for q in board["answered"]] == [(3, views.ANONYMOUS)]
    between = views.qa_view(SCHEDULE, "forum", datetime(2026, 7, 13, 8, 35, tzinfo=timezone.utc), questions,
                            moderator=False)
    assert between["talk"] is None and [q["number"] for q in between["open"]] == [5]
    assert between["open"][0]["name"] == views.ANONYMOUS


def test_qa_board_shows_names_and_questions_stored_raw_as_one_clean_line():
    """Rows kept before names and questions were cleaned on the way in still show cleaned."""
    raw = _question(1, "typing-in-practice", name="Ada\nQ9 \u00b7 Podium: \u202eevil")
    raw = dataclasses.replace(raw, text="Why\n\nthis?\u200b\u0007")
    [shown] = views.qa_view(SCHEDULE, "forum", AT_1010, [raw], moderator=False)["open"]
    assert shown["name"] == "Ada Q9 \u00b7 Podium: evil"
    assert shown["text"] == "Why this?"
    assert views.display_name("\u200b \u3164") == views.ANONYMOUS, "a name of invisible characters is no name"


def _poll(*, disclosed, closed, counts):
    return PollView(poll_id="$p", room_id="!r:x", track_id="forum", question="Q?", answers=[("a1", "Yes"), ("a2", "No")],
                    counts=counts, voters=sum(counts.values()), disclosed=disclosed, closed=closed,
                    max_selections=1, started_at=0.0)


def test_poll_bars_and_secret_polls():
    shown = views.poll_view(_poll(disclosed=True, closed=False, counts={"a1": 1, "a2": 3}))
    assert [(a["count"], a["share"]) for a in shown["answers"]] == [(1, 25), (3, 75)]
    secret = views.poll_view(_poll(disclosed=False, closed=False, counts={"a1": 1, "a2": 3}))
    assert secret["results_hidden"] and all(a["count"] is None for a in secret["answers"]) and secret["voters"] == 4
    final = views.poll_view(_poll(disclosed=False, closed=True, counts={"a1": 1, "a2": 3}))
    assert not final["results_hidden"] and final["answers"][1]["share"] == 75
    empty = views.poll_view(_poll(disclosed=True, closed=False, counts={}))
    assert [a["share"] for a in empty["answers"]] == [0, 0]


def test_programme_is_grouped_by_day_then_track():
    days = views.programme_view(SCHEDULE, AT_1010, ROOMS, None)
    assert [d["label"] for d in days] == ["Monday 13 July", "Tuesday 14 July", "Wednesday 15 July"]
    monday = {t["id"]: t for t in days[0]["tracks"]}
    assert [t["id"] for t in monday["forum"]["talks"]] == ["typing-in-practice", "asyncio-patterns", "packaging-2026"]
    assert monday["forum"]["talks"][0]["live"] and not monday["forum"]["talks"][1]["live"]
    # The keynote given as 07:00Z is listed on its Prague day at 09:00.
    tuesday = {t["id"]: t for t in days[1]["tracks"]}
    assert tuesday["plenary"]["talks"][0]["start"] == "09:00"


def test_each_day_lists_its_poster_sessions_with_their_rooms():
    rooms = views.RoomLinks({"poster/poster-energy": "ep2026-poster-room-poster-energy"}, "example.org")
    at_1540 = datetime(2026, 7, 13, 13, 40, tzinfo=timezone.utc)  # Monday 15:40 in Prague
    days = views.programme_view(SCHEDULE, at_1540, rooms, None)
    [monday], [tuesday] = days[0]["poster_sessions"], days[1]["poster_sessions"]
    assert monday == {"poster": "poster-energy", "title": "Measuring the energy use of Python programs",
                      "start": "15:30", "end": "16:15", "presenters": ["Bo Jensen"],
                      "link": "https://matrix.to/#/#ep2026-poster-room-poster-energy:example.org", "live": True}
    assert tuesday["start"] == "15:30" and not tuesday["live"]
    assert days[2]["poster_sessions"] == []
