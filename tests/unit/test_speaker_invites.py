"""The planner moves speakers' invitations with their talks, without a homeserver: it withdraws
only what it invited as a speaker (the store's record), never staff or people invited by hand,
invites the speaker again where Podium took them out, and converges (a second plan is empty)."""

from __future__ import annotations

import copy

from bot.conference.schedule import parse_schedule
from bot.provisioning.desired import desired_rooms
from bot.provisioning.planner import Invite, Withdraw, plan
from bot.roomstate.state import SPEAKER_INVITED, SPEAKER_WITHDRAWN, Observed
from tests.support.planner import BOT, SETTINGS, TEMPLATES, fresh_plan, play

ADA, MOD, GUEST = "@ada:example.org", "@mod:example.org", "@guest:example.org"


def rooms(track: str, *, also_moderator: bool = False):
    text = f"""\
conference: {{id: tiny, name: Tiny, timezone: UTC, start: 2026-07-13, end: 2026-07-13}}
staff: {{moderators: ["{MOD}"{f', "{ADA}"' if also_moderator else ''}]}}
lobby: []
speakers:
  - {{name: Ada, matrix_id: "{ADA}"}}
tracks: [{{id: forum, name: Forum}}, {{id: south, name: South}}]
talks:
  - {{id: first, track: {track}, title: First, start: 2026-07-13 10:00, duration: 30, speakers: [Ada]}}
"""
    return desired_rooms(parse_schedule(text), TEMPLATES, SETTINGS)


def carried_out(the_plan, observed: Observed) -> Observed:
    """``play``, with what apply keeps of speakers' invitations and the kicks of withdrawals."""
    result = play(the_plan, observed)
    result.speaker_invites = copy.deepcopy(observed.speaker_invites)
    for action in the_plan.actions:
        if isinstance(action, Invite) and action.speaker:
            result.speaker_invites[(action.key, action.user_id)] = SPEAKER_INVITED
        elif isinstance(action, Withdraw):
            result.memberships[(action.key, action.user_id)] = "leave"
            result.speaker_invites[(action.key, action.user_id)] = SPEAKER_WITHDRAWN
    return result


def moves(the_plan) -> list[tuple[str, str, str]]:
    return [(type(a).__name__, a.key, a.user_id) for a in the_plan.actions if isinstance(a, (Invite, Withdraw))]


def test_a_moved_talk_withdraws_its_speakers_invitation_and_invites_them_to_the_new_track():
    before = rooms("forum")
    observed = carried_out(fresh_plan(before), Observed())
    assert observed.speaker_invites == {("backstage/forum", ADA): SPEAKER_INVITED, ("talk/first", ADA): SPEAKER_INVITED}
    observed.memberships[("backstage/forum", ADA)] = "join"
    observed.memberships[("backstage/forum", GUEST)] = "invite"  # a moderator's guest, invited by hand

    after = rooms("south")
    the_plan = plan(after, observed, bot_user_id=BOT, room_version="12")
    assert moves(the_plan) == [("Withdraw", "backstage/forum", ADA), ("Invite", "backstage/south", ADA)]
    withdraw = next(a for a in the_plan.actions if isinstance(a, Withdraw))
    assert withdraw.describe() == f"remove {ADA}: no talk in this track any more"
    assert the_plan.counts()["withdraw"] == 1

    observed = carried_out(the_plan, observed)
    assert plan(after, observed, bot_user_id=BOT, room_version="12").actions == []
    assert observed.memberships[("backstage/forum", GUEST)] == "invite"

    # Moved back: invited again where Podium took her out, withdrawn from the other track.
    again = plan(before, observed, bot_user_id=BOT, room_version="12")
    assert moves(again) == [("Invite", "backstage/forum", ADA), ("Withdraw", "backstage/south", ADA)]
    assert plan(before, carried_out(again, observed), bot_user_id=BOT, room_version="12").actions == []


def test_only_podiums_own_speaker_invitations_are_withdrawn():
    before = rooms("forum")
    observed = play(fresh_plan(before), Observed())  # invited before Podium kept a record of it
    the_plan = plan(rooms("south"), observed, bot_user_id=BOT, room_version="12")
    assert moves(the_plan) == [("Invite", "backstage/south", ADA)]


def test_a_speaker_who_is_also_staff_stays_in_the_backstage():
    observed = carried_out(fresh_plan(rooms("forum", also_moderator=True)), Observed())
    the_plan = plan(rooms("south", also_moderator=True), observed, bot_user_id=BOT, room_version="12")
    assert not [a for a in the_plan.actions if isinstance(a, Withdraw)]
