"""Poster PDFs: a schedule's ``pdf`` as a web address or as a file beside schedule.yaml, checked
when the schedule is loaded, and served by Podium's web server from its own origin at
``/posters/<id>.pdf`` (a file as it is; a web address fetched by the server, bounded in size and
time, kept in the data directory). A stand-in poster host on this machine answers the fetches.
"""

from __future__ import annotations

import asyncio
import os
import urllib.error
import urllib.request
from pathlib import Path

import aiohttp
import pytest
import yaml

from bot import SAMPLE_SCHEDULE
from bot.conference.schedule import (
    MAX_POSTER_BYTES,
    ScheduleInvalid,
    load_schedule,
    parse_schedule,
)
from bot.web import create_app
from bot.web.background import ThreadedServer
from bot.web.posters import CACHE_FOLDER, PosterFiles, PosterUnavailable
from tests.support.posters import SAMPLE_PDF, SETTINGS, PosterHost, with_sample_posters



def sample_with(directory: Path, edit) -> Path:
    """The sample schedule written into ``directory`` after ``edit(data)``."""
    data = yaml.safe_load(SAMPLE_SCHEDULE.read_text())
    edit(data)
    path = directory / "schedule.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    return path


def poster_pdf(value):
    """An edit giving the first poster ``pdf: value``."""
    def edit(data):
        data["posters"][0]["pdf"] = value
    return edit


def load_error(path: Path):
    with pytest.raises(ScheduleInvalid) as info:
        load_schedule(path)
    [error] = info.value.errors
    return error


# ----------------------------------------------------------------------------- the schedule


def test_the_sample_ships_a_real_pdf_and_finds_it_beside_itself():
    energy = next(p for p in load_schedule(SAMPLE_SCHEDULE).posters if p.id == "poster-energy")
    assert energy.pdf == "posters/energy.pdf" and energy.pdf_url is None
    assert energy.pdf_file == SAMPLE_PDF.resolve()
    data = SAMPLE_PDF.read_bytes()
    assert data.startswith(b"%PDF-1.") and data.rstrip().endswith(b"%%EOF") and len(data) < 10_000
    assert data.count(b"/Type /Page ") == 2, "two pages, to turn"


def test_a_pdf_beside_the_schedule_is_found_wherever_the_program_runs(tmp_path, monkeypatch):
    with_sample_posters(tmp_path)
    (tmp_path / "posters" / "own.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")
    path = sample_with(tmp_path, poster_pdf("./posters/own.pdf"))
    monkeypatch.chdir("/")
    poster = load_schedule(path).posters[0]
    assert poster.pdf == "./posters/own.pdf" and poster.pdf_file == (tmp_path / "posters" / "own.pdf").resolve()
    astronomy = load_schedule(path).posters[2]
    assert astronomy.pdf_file is None and astronomy.pdf_url == "https://posters.example.org/ep2026/exoplanets.pdf"


@pytest.mark.parametrize(("value", "says"), [
    ("posters/missing.pdf", "no file {dir}/posters/missing.pdf; put the poster's PDF there"),
    ("../outside.pdf", "leads out of the schedule's folder ('..')"),
    ("posters/../../outside.pdf", "leads out of the schedule's folder ('..')"),
    ("/etc/poster.pdf", "is an absolute path"),
    ("~/poster.pdf", "is an absolute path"),
    ("posters/notes.txt", "is not a .pdf file"),
    ("posters/fake.pdf", "is not a PDF file (it does not start with %PDF-)"),
    ("posters/huge.pdf", "has 26 MB; the web server serves posters of at most 25 MB"),
    ("posters/escape.pdf", "leads out of the schedule's folder"),
    ("javascript:alert(1)", "is not a web address"),
    ("file:///etc/passwd", "is not a web address"),
    ("//elsewhere.example/x.pdf", "is not a web address"),
])
def test_a_poster_path_is_checked_when_the_schedule_is_loaded(tmp_path, value, says):
    folder = with_sample_posters(tmp_path / "conf")
    (folder / "posters" / "fake.pdf").write_text("<html>not a pdf</html>")
    with (folder / "posters" / "huge.pdf").open("wb") as huge:  # sparse: no 26 MB written
        huge.write(b"%PDF-1.4\n")
        huge.truncate(MAX_POSTER_BYTES + 2**20)
    (tmp_path / "secret.pdf").write_bytes(b"%PDF-1.4\n")
    os.symlink(tmp_path / "secret.pdf", folder / "posters" / "escape.pdf")
    path = sample_with(folder, poster_pdf(value))
    error = load_error(path)
    assert error.path == "posters[0].pdf"
    first_pdf = next(n for n, line in enumerate(path.read_text().splitlines(), 1) if line.strip().startswith("pdf:"))
    assert error.line == first_pdf
    assert says.format(dir=folder.resolve()) in error.message, error.message


def test_parsed_from_text_a_path_is_checked_for_its_form_only():
    data = yaml.safe_load(SAMPLE_SCHEDULE.read_text())
    schedule = parse_schedule(yaml.safe_dump(data))
    energy = next(p for p in schedule.posters if p.id == "poster-energy")
    assert energy.pdf == "posters/energy.pdf" and energy.pdf_file is None, "no folder: nothing to serve"
    data["posters"][0]["pdf"] = "../x.pdf"
    with pytest.raises(ScheduleInvalid, match="leads out of the schedule's folder"):
        parse_schedule(yaml.safe_dump(data))


# ----------------------------------------------------------------------------- a stand-in poster host


@pytest.fixture(scope="module")
def host():
    with PosterHost() as stand_in:
        yield stand_in


@pytest.fixture
def files(tmp_path):
    return PosterFiles(tmp_path / CACHE_FOLDER, max_bytes=100_000, timeout=aiohttp.ClientTimeout(total=1))


def remote(url: str):
    return parse_schedule(yaml.safe_dump({**yaml.safe_load(SAMPLE_SCHEDULE.read_text()),
                                          "posters": [{"id": "p", "title": "P", "pdf": url}]})).posters[0]


async def test_a_web_address_is_fetched_once_and_kept(host, files):
    host.hits.clear()
    poster = remote(host.url("energy.pdf"))
    first = await files.file(poster)
    again = await asyncio.gather(*(files.file(poster) for _ in range(5)))
    assert first.read_bytes() == SAMPLE_PDF.read_bytes() and set(again) == {first}
    assert first.parent == files.cache
    assert host.hits == ["/energy.pdf"], "one fetch for six asks"
    await files.close()


async def test_a_kept_copy_is_fetched_again_later_and_served_while_the_host_is_down(host, files):
    files.refresh = 0  # every ask is "later"
    poster = remote(host.url("energy.pdf"))
    kept = await files.file(poster)
    host.up = False
    try:
        host.hits.clear()
        assert await files.file(poster) == kept and kept.read_bytes() == SAMPLE_PDF.read_bytes()
        assert host.hits == ["/energy.pdf"], "asked again, answered 404, the copy served"
    finally:
        host.up = True
        await files.close()


@pytest.mark.parametrize(("name", "says"), [
    ("missing.pdf", "The poster's host answered 404 Not Found."),
    ("page.pdf", "The poster's address does not give a PDF file."),
    ("big.pdf", "The poster's PDF is larger than 97 KB."),
    ("declared-big.pdf", "The poster's PDF is larger than 97 KB."),
    ("slow.pdf", "The poster could not be fetched from its host (took too long)."),
])
async def test_what_cannot_be_served_says_why(host, files, name, says):
    with pytest.raises(PosterUnavailable) as info:
        await files.file(remote(host.url(name)))
    assert str(info.value) == says
    assert info.value.status == 502
    assert not files.cache.exists() or not any(files.cache.iterdir()), "nothing half-written is kept"
    await files.close()


async def test_a_path_in_a_schedule_read_from_text_has_no_file_to_serve(files):
    energy = next(p for p in parse_schedule(SAMPLE_SCHEDULE.read_text()).posters if p.id == "poster-energy")
    with pytest.raises(PosterUnavailable) as info:
        await files.file(energy)
    assert (str(info.value), info.value.status) == ("The poster's PDF is not on this server.", 404)


async def test_a_redirect_is_followed(host, files):
    kept = await files.file(remote(host.url("moved.pdf")))
    assert kept.read_bytes() == SAMPLE_PDF.read_bytes()
    await files.close()


# ----------------------------------------------------------------------------- the web server


@pytest.fixture(scope="module")
def server(tmp_path_factory, host):
    folder = with_sample_posters(tmp_path_factory.mktemp("posters"))

    def edit(data):
        by_id = {p["id"]: p for p in data["posters"]}
        by_id["poster-typing-survey"]["pdf"] = host.url("energy.pdf") + "?from=schedule"
        by_id["poster-astronomy"]["pdf"] = host.url("missing.pdf")
        del by_id["poster-education"]["pdf"]

    schedule = load_schedule(sample_with(folder, edit))
    app = create_app(schedule, SETTINGS, data_dir=folder / "data")
    with ThreadedServer(app) as running:
        running.data_dir = folder / "data"
        yield running


def get(server, path: str):
    try:
        return urllib.request.urlopen(server.url + path, timeout=10)
    except urllib.error.HTTPError as error:
        return error


def test_a_poster_file_is_served_from_podiums_own_origin(server):
    response = get(server, "/posters/poster-energy.pdf")
    assert response.status == 200
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Content-Disposition"] == 'inline; filename="poster-energy.pdf"'
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.read() == SAMPLE_PDF.read_bytes()


def test_only_the_address_in_the_schedule_is_ever_fetched(server, host):
    host.hits.clear()
    for _ in range(3):
        response = get(server, "/posters/poster-typing-survey.pdf?url=http://127.0.0.1:1/elsewhere.pdf")
        assert response.status == 200 and response.read() == SAMPLE_PDF.read_bytes()
    assert host.hits == ["/energy.pdf?from=schedule"], "fetched once, from the schedule's address"
    assert len(list((server.data_dir / CACHE_FOLDER).glob("*.pdf"))) == 1, "kept in the data directory"


@pytest.mark.parametrize(("path", "status", "says"), [
    ("/posters/poster-astronomy.pdf", 502, "The poster's host answered 404 Not Found."),
    ("/posters/poster-education.pdf", 404, "The presenters have not shared a PDF yet."),
    ("/posters/no-such-poster.pdf", 404, "No such poster in the programme."),
    ("/posters/..%2f..%2fetc%2fpasswd.pdf", 404, "No such poster in the programme."),
    ("/posters/poster-energy.pdf%00.pdf", 404, "No such poster in the programme."),
])
def test_a_poster_that_cannot_be_served_gets_a_plain_answer(server, path, status, says):
    response = get(server, path)
    assert response.status == status
    assert response.read().decode().strip() == says
