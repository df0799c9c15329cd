"""The schedule's models: the conference, its tracks, talks, posters, sponsors, helpdesks and
open space, validated field by field as they are built, and frozen."""

from __future__ import annotations

import contextvars
import functools
import re
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, Literal, Union
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, available_timezones

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    field_validator,
    model_validator,
)

from .errors import _err, _show, _suggest
from .fields import (
    _CONTROL,
    _CURRENT_TZ,
    FREE_FORM,
    MAX_URL_LENGTH,
    Day,
    Duration,
    Flag,
    Id,
    MatrixId,
    MatrixIds,
    Moment,
    OptLine,
    OptText,
    Text,
    Url,
    _check_conference_id,
    _check_host,
    _check_length,
    _check_url,
    _empty_list,
    _listify,
    _lowercase,
    _text_value,
)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)


class VideoSettings(_Model):
    jitsi_domain: Annotated[str, BeforeValidator(_check_host)] = "meet.jit.si"
    jitsi_wrapper_url: Annotated[str, BeforeValidator(_check_url), FREE_FORM] = (
        "https://app.element.io/jitsi.html")

    @field_validator("jitsi_wrapper_url", mode="after")
    @classmethod
    def _wrapper_required(cls, v: str | None) -> str:
        return v or "https://app.element.io/jitsi.html"


@functools.lru_cache(maxsize=1)
def _known_timezones() -> frozenset[str]:
    try:
        return frozenset(available_timezones())
    except Exception:  # pragma: no cover - no tz database at all
        return frozenset()


@functools.lru_cache(maxsize=256)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _check_timezone(value: Any) -> str:
    hint = "use an IANA timezone name such as Europe/Prague, America/New_York or UTC"
    if not isinstance(value, str) or not value.strip():
        raise _err("timezone", f"expected a timezone name, not {_show(value)}; {hint}")
    name = value.strip()
    try:
        _zone(name)
        return name
    except Exception:
        pass
    raise _err("timezone",
               f"unknown timezone {_show(name)}{_suggest(name, _known_timezones())}; {hint}")


class ConferenceInfo(_Model):
    id: Annotated[str, BeforeValidator(_check_conference_id)]
    name: Text
    description: OptText = ""
    timezone: Annotated[str, BeforeValidator(_check_timezone)]
    start: Day
    end: Day
    access: Annotated[Literal["public", "space-members", "invite"],
                      BeforeValidator(_lowercase)] = "space-members"
    video: Annotated[VideoSettings, BeforeValidator(lambda v: {} if v is None else v)] = Field(
        default_factory=VideoSettings)

    @property
    def tz(self) -> ZoneInfo:
        return _zone(self.timezone)

    @property
    def days(self) -> list[date]:
        """Every conference day, first to last."""
        n = (self.end - self.start).days + 1
        return [self.start + timedelta(days=i) for i in range(max(n, 0))]

    @property
    def starts_at(self) -> datetime:
        """Midnight at the start of the first day, in the conference timezone."""
        return datetime.combine(self.start, time(0), self.tz)

    @property
    def ends_at(self) -> datetime:
        """Midnight at the end of the last day (24:00), in the conference timezone."""
        return datetime.combine(self.end + timedelta(days=1), time(0), self.tz)


class Staff(_Model):
    organisers: MatrixIds = Field(default_factory=list)
    moderators: MatrixIds = Field(default_factory=list)


class LobbyRoom(_Model):
    id: Id
    name: Text
    topic: OptText = ""
    read_only: Flag = False


DEFAULT_LOBBY: tuple[LobbyRoom, ...] = (
    LobbyRoom(id="announcements", name="Announcements",
              topic="News from the organisers. Only organisers post here.", read_only=True),
    LobbyRoom(id="info-desk", name="Info desk",
              topic="Questions about the conference? Ask here."),
    LobbyRoom(id="hallway", name="Hallway", topic="Chat with everyone at the conference."),
    LobbyRoom(id="jobs", name="Jobs", topic="Job offers from sponsors and attendees."),
)


class Track(_Model):
    id: Id
    name: Text
    kind: Annotated[Literal["talk", "training", "plenary"], BeforeValidator(_lowercase)] = "talk"
    stream: Url = None
    chairs: MatrixIds = Field(default_factory=list)
    topic: OptText = ""

    @property
    def stream_kind(self) -> Literal["hls", "iframe"] | None:
        """``"hls"`` for an .m3u8 playlist, ``"iframe"`` for any other URL, None without one."""
        if not self.stream:
            return None
        return "hls" if urlsplit(self.stream).path.lower().endswith(".m3u8") else "iframe"


class Person(_Model):
    name: Text
    matrix_id: Annotated[Union[MatrixId, None], BeforeValidator(
        lambda v: None if v == "" else v)] = None

    @model_validator(mode="before")
    @classmethod
    def _from_name(cls, value: Any) -> Any:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return {"name": value}
        return value


People = Annotated[list[Person], BeforeValidator(_listify), FREE_FORM]


def later_by(moment: datetime, duration: timedelta) -> datetime:
    """``moment`` plus ``duration`` of real time, in ``moment``'s zone. Python adds to an aware
    datetime by its wall clock, so a two-hour talk at 01:30 on the night the clocks go back
    would otherwise end at 03:30 local, three hours later; counted in UTC it ends at 02:30."""
    return (moment.astimezone(timezone.utc) + duration).astimezone(moment.tzinfo)


#: A ref as the sources write them. frab's guids of 2014 are URL-safe base64, which may start
#: with '-' or '_'.
_REF = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._:-]{0,63}")


def _ref_check(source: str, remedy: str):
    """The check of a ``ref`` that ``podium import`` sets to ``source``; ``remedy`` ends the error."""

    def check(value: Any) -> str | None:
        text = _text_value(value)
        if text is None:
            return None
        if not _REF.fullmatch(text):
            raise _err("ref", f"{_show(value)} is not a reference Podium writes; `podium import` sets it to the "
                              f"{source} (1-64 letters, digits, '.', '_', ':' or '-'): {remedy}")
        return text

    return check


_check_ref = _ref_check("talk's pretalx code or frab guid", "restore it, or remove the line to make the talk your own")
_check_speaker_ref = _ref_check("speaker's pretalx code or frab person id", "restore it, or remove the line")


class Speaker(_Model):
    """One speaker under ``speakers:``: the one place their Matrix ID is written. Every talk and
    poster that names them (by ``name``, ignoring case) gets it."""

    name: Text
    matrix_id: Annotated[Union[MatrixId, None], BeforeValidator(lambda v: None if v == "" else v)] = None
    #: The speaker's code in the system the programme was imported from: how a re-import finds
    #: the entry again after the speaker's name changed there.
    ref: Annotated[str | None, BeforeValidator(_check_speaker_ref)] = None


def speaker_key(name: str) -> str:
    """How a speaker's name is matched between ``speakers:`` and the talks: ignoring case."""
    return name.casefold().strip()


def speakers_matrix_ids(section: list[Speaker], people: list[Person]) -> dict[str, str]:
    """Each speaker's Matrix ID by :func:`speaker_key`: the one under ``speakers:``, else the one
    ``people`` (every talk's speakers and poster's presenters) agree on. A speaker given two
    different IDs gets none from here; the schedule's checks report the disagreement."""
    ids: dict[str, str] = {}
    for speaker in section:  # the first entry of a speaker listed twice; the checks report the second
        if speaker.matrix_id:
            ids.setdefault(speaker_key(speaker.name), speaker.matrix_id)
    given: dict[str, set[str]] = {}
    for person in people:
        if person.matrix_id:
            given.setdefault(speaker_key(person.name), set()).add(person.matrix_id)
    for key, found in given.items():
        if key not in ids and len(found) == 1:
            ids[key] = next(iter(found))
    return ids


class Link(_Model):
    url: Annotated[str, BeforeValidator(_check_url), FREE_FORM]
    title: OptLine = ""

    @model_validator(mode="before")
    @classmethod
    def _from_url(cls, value: Any) -> Any:
        return {"url": value} if isinstance(value, str) else value


class Talk(_Model):
    id: Id
    track: Id
    title: Text
    kind: Annotated[Literal["talk", "keynote", "lightning", "panel", "workshop", "tutorial"],
                    BeforeValidator(_lowercase)] = "talk"
    start: Moment
    duration: Duration
    speakers: People = Field(default_factory=list)
    abstract: OptText = ""
    #: The talk's identity in the system it was imported from (pretalx's submission code, a frab
    #: guid or event id): how a re-import finds it again after its title or slot changed.
    ref: Annotated[str | None, BeforeValidator(_check_ref)] = None
    #: The programme's own grouping of the talk (FOSDEM's devroom, a congress's topic): what
    #: attendees look for, beside the track, which is the room it is streamed in.
    category: OptLine = ""
    subtitle: OptLine = ""
    #: The language it is given in, as the programme writes it ("en", "de").
    language: OptLine = ""
    #: The longer text beside the abstract.
    description: OptText = ""
    #: Recordings, slides, the programme's own page: what attendees may follow from the talk.
    links: Annotated[list[Link], BeforeValidator(_empty_list), FREE_FORM] = Field(default_factory=list)
    #: The speakers asked not to be recorded or streamed; speakers and chairs are told.
    do_not_record: Flag = False
    #: Runs at the same time as another talk of its track, as the imported programme has it (a DJ
    #: set beside another, posters inside a reception). Only such talks may overlap in a track:
    #: an overlap written by hand is nearly always a wrong start, so it stays an error.
    parallel: Flag = False
    #: Cancelled after it was announced: kept so the pages say so, but the clock runs nothing for it.
    cancelled: Flag = False

    @property
    def end(self) -> datetime:
        return later_by(self.start, self.duration)


#: The largest poster PDF Podium reads or fetches: a few pages of vector graphics and photos.
MAX_POSTER_BYTES = 25 * 1024 * 1024
#: The folder of the schedule file being loaded: a poster's ``pdf`` may be a path inside it.
_SCHEDULE_DIR: contextvars.ContextVar[Path | None] = contextvars.ContextVar(
    "podium_schedule_dir", default=None)
_URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def _check_poster_pdf(value: Any) -> str | None:
    """An http(s) URL, or the path of a PDF file beside schedule.yaml (``posters/x.pdf``).

    A path is checked when the schedule is loaded from its file: it must stay inside the
    schedule's folder (no ``..``, no absolute path, no symbolic link leading out), and name a
    PDF no larger than the web server serves. Parsed from text alone there is no folder to
    look in, so only its form is checked."""
    if not isinstance(value, str) or _URL_SCHEME.match(value.strip()) or value.strip().startswith("//"):
        return _check_url(value)
    text = value.strip()
    if not text:
        return None
    how = ("write an https:// URL, or the path of the PDF relative to the folder of "
           "schedule.yaml, like posters/my-poster.pdf")
    if _CONTROL.search(text):
        raise _err("pdf", f"{_show(value)} holds a control character; {how}")
    _check_length(text, MAX_URL_LENGTH, "path")
    relative = PurePosixPath(text.replace("\\", "/"))
    if relative.is_absolute() or text.startswith("~"):
        raise _err("pdf", f"{_show(value)} is an absolute path; the web server serves only "
                          f"files inside the schedule's folder: {how}")
    if ".." in relative.parts:
        raise _err("pdf", f"{_show(value)} leads out of the schedule's folder ('..'); the web "
                          f"server serves only files inside it: {how}")
    if relative.suffix.lower() != ".pdf":
        raise _err("pdf", f"{_show(value)} is not a .pdf file; {how}")
    folder = _SCHEDULE_DIR.get()
    if folder is not None:
        _check_poster_file(text, folder)
    return text


def _check_poster_file(text: str, folder: Path) -> Path:
    """The file ``text`` names inside ``folder``, resolved; a located error if it is missing,
    outside the folder once links are followed, too large or not a PDF."""
    root = folder.resolve()
    target = (root / text).resolve()
    if not target.is_relative_to(root):
        raise _err("pdf", f"{_show(text)} leads out of the schedule's folder {root} (through a "
                          "symbolic link); put the PDF itself inside that folder")
    if not target.is_file():
        raise _err("pdf", f"no file {target}; put the poster's PDF there, or fix the path "
                          "(it is relative to the folder of schedule.yaml)")
    try:
        size = target.stat().st_size
        with target.open("rb") as pdf:
            head = pdf.read(5)
    except OSError as exc:
        raise _err("pdf", f"cannot read {target}: {exc.strerror or exc}") from None
    if size > MAX_POSTER_BYTES:
        raise _err("pdf", f"{target} has {size / 2**20:.0f} MB; the web server serves posters of "
                          f"at most {MAX_POSTER_BYTES // 2**20} MB, so make it smaller")
    if head != b"%PDF-":
        raise _err("pdf", f"{target} is not a PDF file (it does not start with %PDF-); "
                          "export the poster as PDF")
    return target


PosterPdf = Annotated[str | None, BeforeValidator(_check_poster_pdf), FREE_FORM]


class Slot(_Model):
    start: Moment
    duration: Duration

    @property
    def end(self) -> datetime:
        return later_by(self.start, self.duration)


class Poster(_Model):
    id: Id
    title: Text
    presenters: People = Field(default_factory=list)
    #: When its presenters are in its room's call: the clock says so there as each one starts.
    sessions: Annotated[list[Slot], BeforeValidator(_empty_list)] = Field(default_factory=list)
    #: An http(s) URL, or a path relative to schedule.yaml (see pdf_file).
    pdf: PosterPdf = None
    abstract: OptText = ""
    _pdf_file: Path | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _locate_pdf(self) -> Poster:
        folder = _SCHEDULE_DIR.get()
        if self.pdf is not None and self.pdf_url is None and folder is not None:
            self._pdf_file = (folder.resolve() / self.pdf).resolve()
        return self

    @property
    def pdf_url(self) -> str | None:
        """The PDF's web address, when ``pdf`` is one."""
        return self.pdf if self.pdf is not None and _URL_SCHEME.match(self.pdf) else None

    @property
    def pdf_file(self) -> Path | None:
        """The PDF file beside the schedule, when ``pdf`` is a path and the schedule was loaded
        from its file (checked then: inside its folder, a PDF, not too large)."""
        return self._pdf_file


class Job(_Model):
    title: Text
    url: Url = None

    @model_validator(mode="before")
    @classmethod
    def _from_title(cls, value: Any) -> Any:
        return {"title": value} if isinstance(value, str) else value


class Sponsor(_Model):
    id: Id
    name: Text
    level: OptLine = ""
    staff: MatrixIds = Field(default_factory=list)
    booth_url: Url = None
    description: OptText = ""
    jobs: Annotated[list[Job], BeforeValidator(_empty_list), FREE_FORM] = Field(
        default_factory=list)


class Helpdesk(_Model):
    id: Id
    name: Text
    staff: MatrixIds = Field(default_factory=list)
    video: Flag = False
    topic: OptText = ""


class OpenSpaceRoom(_Model):
    id: Id
    name: Text
    video: Flag = False
    topic: OptText = ""


class OpenSpace(_Model):
    rooms: Annotated[list[OpenSpaceRoom], BeforeValidator(_empty_list)] = Field(
        default_factory=list)
    slots: Annotated[list[Slot], BeforeValidator(_empty_list)] = Field(default_factory=list)


def _tz_from_raw(data: Any) -> tzinfo | None:
    """The conference timezone named in raw data, if it is a valid one."""
    try:
        conf = data.get("conference") if isinstance(data, dict) else None
        if isinstance(conf, ConferenceInfo):
            return conf.tz
        name = conf.get("timezone") if isinstance(conf, dict) else None
        return _zone(name.strip()) if isinstance(name, str) and name.strip() else None
    except Exception:
        return None


def _section(item_type: Any) -> Any:
    return Annotated[list[item_type], BeforeValidator(_empty_list)]


class ImportSettings(_Model):
    #: The refs of talks `podium import` leaves out for good (the organisers removed them).
    exclude: Annotated[list[Annotated[str, BeforeValidator(_check_ref)]], BeforeValidator(_listify),
                       FREE_FORM] = Field(default_factory=list)


class Schedule(_Model):
    conference: ConferenceInfo
    #: What ``podium import`` must respect: written ``import:`` in the file.
    import_settings: Annotated[ImportSettings, BeforeValidator(lambda v: {} if v is None else v)] = Field(
        default_factory=ImportSettings, alias="import")
    staff: Annotated[Staff, BeforeValidator(lambda v: {} if v is None else v)] = Field(
        default_factory=Staff)
    lobby: Annotated[list[LobbyRoom], BeforeValidator(
        lambda v: list(DEFAULT_LOBBY) if v is None else v)] = Field(
        default_factory=lambda: list(DEFAULT_LOBBY))
    tracks: _section(Track) = Field(default_factory=list)
    talks: _section(Talk) = Field(default_factory=list)
    posters: _section(Poster) = Field(default_factory=list)
    sponsors: _section(Sponsor) = Field(default_factory=list)
    helpdesks: _section(Helpdesk) = Field(default_factory=list)
    open_space: Annotated[OpenSpace, BeforeValidator(lambda v: {} if v is None else v)] = Field(
        default_factory=OpenSpace)
    #: Each speaker's Matrix ID, in one place; their talks and posters name them.
    speakers: _section(Speaker) = Field(default_factory=list)

    @model_validator(mode="wrap")
    @classmethod
    def _conference_timezone(cls, data: Any, handler: Any) -> Any:
        # Naive times anywhere in the schedule are in the conference timezone.
        token = _CURRENT_TZ.set(_tz_from_raw(data) or _CURRENT_TZ.get())
        try:
            schedule = handler(data)
        finally:
            _CURRENT_TZ.reset(token)
        return schedule._with_speakers_ids() if isinstance(schedule, Schedule) else schedule

    def _with_speakers_ids(self) -> Schedule:
        """The schedule with every speaker's Matrix ID on each of their talks and posters: what
        invites them, gives them power and names them is read from the talks alone."""
        people = [p for t in self.talks for p in t.speakers] + [p for x in self.posters for p in x.presenters]
        ids = speakers_matrix_ids(self.speakers, people)
        if not ids:
            return self

        def known(persons: list[Person]) -> list[Person]:
            return [p if p.matrix_id or speaker_key(p.name) not in ids
                    else p.model_copy(update={"matrix_id": ids[speaker_key(p.name)]}) for p in persons]

        talks = [t.model_copy(update={"speakers": known(t.speakers)}) for t in self.talks]
        posters = [x.model_copy(update={"presenters": known(x.presenters)}) for x in self.posters]
        return self.model_copy(update={"talks": talks, "posters": posters})

    # -- helpers ------------------------------------------------------------------------------

    def track(self, id: str) -> Track:
        for t in self.tracks:
            if t.id == id:
                return t
        raise KeyError(f"no track {id!r}")

    def talk(self, id: str) -> Talk:
        for t in self.talks:
            if t.id == id:
                return t
        raise KeyError(f"no talk {id!r}")

    def talks_in(self, track_id: str) -> list[Talk]:
        """The talks of one track, in order of start time."""
        return sorted((t for t in self.talks if t.track == track_id),
                      key=lambda t: (t.start, t.id))

    @property
    def organisers(self) -> list[str]:
        return list(self.staff.organisers)

    @property
    def moderators(self) -> list[str]:
        return list(self.staff.moderators)

    def all_matrix_ids(self) -> list[str]:
        """Every Matrix user named anywhere in the schedule, sorted, without repeats."""
        ids: set[str] = set(self.staff.organisers) | set(self.staff.moderators)
        for t in self.tracks:
            ids.update(t.chairs)
        for talk in self.talks:
            ids.update(p.matrix_id for p in talk.speakers if p.matrix_id)
        for poster in self.posters:
            ids.update(p.matrix_id for p in poster.presenters if p.matrix_id)
        for s in self.sponsors:
            ids.update(s.staff)
        for h in self.helpdesks:
            ids.update(h.staff)
        return sorted(ids)
