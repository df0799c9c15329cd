"""The conference clock's loop inside ``podium run``: each transition on time, exactly once.

Every pass recomputes the plan from the schedule and the tracks' current ``!delay``s, asks
``due`` what to run, carries out each transition's effects and records its key in the store
(``bot.store.transitions``) once done. A crash between an effect and the record runs the
transition again after the restart, with the same transaction ids, so the homeserver keeps one
copy of each message. Transitions missed by more than the grace window are not run late: the
moderators get one summary per backstage instead; but a start whose talk or session is still on
runs, and the clock's first pass puts every room's topic and name where the programme in force
has them (``in_force``), so a demo started mid-talk or a restart across a change of talks leaves
no room showing what is past.

Each pass also puts the track rooms' presenters right: the speakers of the talk running now in
the schedule in force (delays applied) hold the presenter level, and nobody else does, whatever
moved the timetable (a talk's end, a ``!delay``, an edit that deleted or moved the talk).

The loop sleeps until the next transition is due, or until woken (``wake``: a ``!delay`` or a
reload moved the timetable), and never longer than ``PASS_AT_MOST``, so a clock that jumps (a
rehearsal's, a suspended machine's) is noticed within that time.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ..commands.message import message, user
from ..conference.clock import apply_delays
from ..conference.roles import presenting, track_staff, with_presenters
from ..conference.roomkeys import TRACK, backstage_key, kind_of
from ..conference.transitions import (
    GRACE,
    POSTER_KINDS,
    REMIND_BEFORE,
    Transition,
    due,
    in_force,
    poster_transitions,
    session_transitions,
    transitions,
)
from ..matrix import MatrixError
from ..roomstate.state import POWER_LEVELS
from ..store.bookings import BookingStore
from ..store.delays import DelayStore
from ..store.questions import QuestionStore
from ..store.transitions import SKIPPED, TransitionStore
from .effects import Say, SetName, SetTopic, effects, poster_effects, session_effects
from .running import RunningBot

log = logging.getLogger(__name__)
PASS_AT_MOST = 15.0  # seconds between passes when nothing is due sooner


@dataclass(frozen=True)
class DayOptions:
    """How the clock runs: the lead time of the speakers' reminder, the grace window for late
    transitions, and the longest real time between passes. What each room gets (its template's
    ``clock:`` switches) and the pages' URL come from the runtime's programme, so a reloaded
    schedule's new rooms get theirs."""

    remind_before: timedelta = REMIND_BEFORE
    grace: timedelta = GRACE
    pass_at_most: float = PASS_AT_MOST  # real seconds between passes at the longest


class DayRunner:
    def __init__(self, runtime: RunningBot, options: DayOptions):
        self.runtime = runtime
        self.options = options
        self.conference = runtime.conference_id
        self.done = TransitionStore(runtime.store.db)
        self.delays = DelayStore(runtime.store.db)
        self.questions = QuestionStore(runtime.store.db)
        self.bookings = BookingStore(runtime.store.db)
        self.passes = 0
        self._woken = asyncio.Event()
        runtime.wake_clock = self.wake  # a !delay (through its Context) and a reload call it

    def wake(self) -> None:
        """Look at the timetable again now: a ``!delay`` or a reload moved it."""
        self._woken.set()

    async def run(self) -> None:
        await self.runtime.ready.wait()
        while True:
            self._woken.clear()  # before the pass: a wake during it brings the next one forward
            next_at = await self.run_due()
            wait = self.options.pass_at_most
            if next_at is not None:
                wait = min(wait, max(0.0, (next_at - self.runtime.clock()).total_seconds()))
            try:
                await asyncio.wait_for(self._woken.wait(), wait)
            except TimeoutError:
                pass

    async def run_due(self):
        """One pass: run what is due, summarise what was missed; returns when the next is due."""
        self.passes += 1
        schedule = apply_delays(self.runtime.schedule, self.delays.all(self.conference))
        # Bookings are read each pass: one made or cancelled a moment ago is in this plan.
        planned = [*transitions(schedule, remind_before=self.options.remind_before),
                   *poster_transitions(schedule, remind_before=self.options.remind_before),
                   *session_transitions(schedule, self.bookings.all(self.conference))]
        now = self.runtime.clock()
        done = self.done.done(self.conference)
        result = due(planned, now, done, grace=self.options.grace)
        if result.skipped and not done:
            # The clock's first run for this conference: what is past was never the bot's to do,
            # so there is nothing to report (a bot first started on day two stays quiet about day one).
            log.info("clock: first run; %d past transitions left as they are", len(result.skipped))
            for transition in result.skipped:
                self._record(transition, SKIPPED)
        elif result.skipped:
            await self._summarise(result.skipped, schedule)
        by_track: dict[str, list[Transition]] = defaultdict(list)
        for transition in result.run:
            by_track[transition.track_id].append(transition)
        # Tracks side by side: at the top of the hour every track changes talks at once, and one
        # track's requests need not wait for another's. Within a track, in order.
        await asyncio.gather(*(self._run_track(batch, schedule) for batch in by_track.values()))
        if self.passes == 1:
            await self._put_state_in_force(planned, now, result.run, schedule)
        await self._keep_presenters(schedule, now)
        return result.waiting[0].at if result.waiting else None

    async def _put_state_in_force(self, planned, now, running, schedule) -> None:
        """As the clock starts: every room's topic and name as the last start or end due gives
        them, whatever the clock skipped while it was away or before it first ran (what runs in
        this pass sets its own). Only what differs from the synced state is written."""
        writes = []
        for transition in in_force(planned, now):
            if transition in running:
                continue
            for index, effect in enumerate(self._effects(transition, schedule)):
                if isinstance(effect, (SetTopic, SetName)) and self._switched_on(effect.room, effect.switch) \
                        and not self._shows(effect):
                    writes.append(self._carry_out(transition, effect, f"{transition.key}|{index}"))
        await asyncio.gather(*writes)

    def _shows(self, effect: SetTopic | SetName) -> bool:
        """Whether the room already has the topic or name ``effect`` sets (or is not there)."""
        room_id = self.runtime.room_id_of(effect.room)
        if room_id is None:
            return True
        event_type, field, value = (("m.room.topic", "topic", effect.topic) if isinstance(effect, SetTopic)
                                    else ("m.room.name", "name", effect.name))
        return self.runtime.rooms.get(room_id, {}).get(event_type, {}).get("", {}).get(field) == value

    def _record(self, transition: Transition, outcome: str = "ran") -> None:
        self.done.record(self.conference, transition.key, kind=transition.kind, talk_id=transition.talk_id,
                         due_at=transition.at.timestamp(), done_at=time.time(), outcome=outcome)

    async def _run_track(self, batch: list[Transition], schedule) -> None:
        """One track's due transitions, as few writes as they need and side by side where order
        does not matter. A topic a later transition of the batch sets again is written once.
        Messages keep their order within a room ("has ended" before "Now:"); rooms, and the state
        writes beside the messages, go at once. Recorded once all are done: a crash in between runs
        the batch again, with the same transaction ids, so no message is repeated."""
        steps = [(transition, index, effect) for transition in batch
                 for index, effect in enumerate(self._effects(transition, schedule))
                 if self._switched_on(effect.room, effect.switch)]
        says: dict[str, list] = defaultdict(list)  # room -> its messages, in order
        writes = []
        for position, (transition, index, effect) in enumerate(steps):
            later = [e for _, _, e in steps[position + 1:] if type(e) is type(effect) and e.room == effect.room]
            seed = f"{transition.key}|{index}"
            if isinstance(effect, Say):
                says[effect.room].append((transition, effect, seed))
            elif not later:  # the last topic or name the batch sets
                writes.append(self._carry_out(transition, effect, seed))

        async def in_order(messages) -> None:
            for transition, effect, seed in messages:
                await self._carry_out(transition, effect, seed)

        await asyncio.gather(*writes, *(in_order(messages) for messages in says.values()))
        for transition in batch:
            self._record(transition)

    def _effects(self, transition: Transition, schedule):
        if transition.kind in POSTER_KINDS:
            return poster_effects(transition, schedule)
        if transition.booking is not None:
            booking = self.bookings.get(transition.booking)
            return [] if booking is None else session_effects(transition, booking, schedule,
                                                              restore=self._template_name_and_topic(transition.track_id))
        talk = next((t for t in schedule.talks if t.id == transition.talk_id), None)
        moderators, _speakers = track_staff(schedule, transition.track_id, None)
        return effects(
            transition, schedule, public_url=self.runtime.programme.settings.public_url,
            checked_in=self.done.checked_in(self.conference, transition.talk_id),
            questions=self.questions.for_talk(self.conference, transition.track_id, transition.talk_id)
            if talk else (),
            chairs=[*moderators], links=self.runtime.programme.links,
        )

    async def _carry_out(self, transition: Transition, effect, txn_seed: str) -> None:
        room_id = self.runtime.room_id_of(effect.room)
        if room_id is None:
            log.warning("clock: %s for %s: no room %s", transition.kind, transition.talk_id, effect.room)
            return
        try:
            await self._apply(effect, room_id, txn_seed)
        except MatrixError as exc:  # one room failing must not stop the others, nor the clock
            log.warning("clock: %s for %s in %s failed: %s", transition.kind, transition.talk_id, effect.room, exc)

    def _template_name_and_topic(self, room_key: str) -> tuple[str, str]:
        """The name and topic the room's template gives it, in the programme in force."""
        room = next((r for r in self.runtime.programme.conference.rooms if r.key == room_key), None)
        state = {} if room is None else room.state
        return (state.get(("m.room.name", ""), {}).get("name", ""), state.get(("m.room.topic", ""), {}).get("topic", ""))

    def _switched_on(self, room_key: str, switch: str) -> bool:
        return bool(self.runtime.programme.switches.get(room_key, {}).get(switch, True))

    async def _apply(self, effect, room_id: str, txn_seed: str) -> None:
        """Carry out one effect."""
        adapter = self.runtime.adapter
        if isinstance(effect, Say):
            content = effect.message.content(notice=effect.notice)
            if effect.mentions:
                content["m.mentions"] = {"user_ids": list(effect.mentions)}
            # Derived from the transition: run again after a crash, it is the same message.
            txn = "podium.clock." + hashlib.sha256(txn_seed.encode()).hexdigest()[:32]
            await self.runtime.send(room_id, "m.room.message", content, txn)
        elif isinstance(effect, SetTopic):
            await adapter.put_state(room_id, "m.room.topic", "", {"topic": effect.topic},
                                    what=f"set the topic of {effect.room}")
        elif isinstance(effect, SetName):
            await adapter.put_state(room_id, "m.room.name", "", {"name": effect.name},
                                    what=f"set the name of {effect.room}")

    async def _keep_presenters(self, schedule, now) -> None:
        """Every track room's presenters as the schedule in force has them at ``now`` (``schedule``
        with the delays applied), all rooms at once."""
        on_stage = presenting(schedule, now)
        changes = []
        for room in self.runtime.own_rooms():
            if kind_of(room.key) != TRACK:
                continue
            wanted = on_stage.get(room.track_id or "", frozenset()) \
                if self._switched_on(room.key, "speaker_power") else frozenset()
            synced = self._power_levels(room.room_id)
            if with_presenters(synced, wanted) != synced.get("users", {}):
                changes.append(self._set_presenters(room.key, room.room_id, wanted))
        await asyncio.gather(*changes)

    async def _set_presenters(self, key: str, room_id: str, presenters: frozenset[str]) -> None:
        """One write that gives the room these presenters. The levels are read fresh first: the
        synced ones may not show the clock's own last change yet, and a write from them would
        undo it (or undo what someone else changed meanwhile)."""
        adapter = self.runtime.adapter
        try:
            levels = await adapter.state_event(room_id, POWER_LEVELS, "", what=f"read the power levels of {key}")
            users = with_presenters(levels, presenters)
            if levels and users != levels.get("users", {}):
                await adapter.put_state(room_id, POWER_LEVELS, "", {**levels, "users": users},
                                        what=f"set who may present in {key}")
        except MatrixError as exc:  # tried again at the next pass
            log.warning("clock: setting who may present in %s failed: %s", key, exc)

    def _power_levels(self, room_id: str) -> dict[str, Any]:
        return dict(self.runtime.rooms.get(room_id, {}).get(POWER_LEVELS, {}).get("", {}))

    async def _summarise(self, skipped: list[Transition], schedule) -> None:
        """One message per backstage for what the clock missed while it was down, then record it."""
        zone = ZoneInfo(schedule.conference.timezone)
        titles = {t.id: t.title for t in schedule.talks}
        by_track: dict[str, list[Transition]] = defaultdict(list)
        for transition in skipped:
            by_track[transition.track_id].append(transition)
        for track_id, missed in by_track.items():
            backstage = backstage_key(track_id)
            room_id = self.runtime.room_id_of(backstage)
            if room_id is not None and self._switched_on(backstage, "missed_summary"):
                summary = message(f"The bot was away: {len(missed)} of this track's transitions were not run "
                                  "and will not be, as they are past:").items(
                    (f"{t.at.astimezone(zone):%a %H:%M} {t.kind}: ", user(titles.get(t.talk_id, t.talk_id)))
                    for t in missed)
                seed = "summary|" + "|".join(t.key for t in missed)
                try:
                    await self._apply(Say(backstage, "missed_summary", summary), room_id, seed)
                except MatrixError as exc:
                    log.warning("clock: summary of missed transitions in %s failed: %s", backstage, exc)
            for transition in missed:
                self._record(transition, SKIPPED)
