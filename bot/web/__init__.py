"""Podium's web server: the widget pages the conference rooms embed, and the public site.

Entry point::

    from bot.web import create_app, start_web

    app = create_app(schedule, settings, data_dir=data_dir, delays=delays)
    runner = await start_web(app, "0.0.0.0", 8080)   # serves settings.public_url
    ...
    await runner.cleanup()

``create_app(schedule, settings, *, data_dir, delays=None, now=None, templates_dir=..., limits=None)
-> aiohttp.web.Application``

* ``schedule``: the validated :class:`bot.conference.schedule.Schedule`.
* ``settings``: :class:`bot.provisioning.desired.Settings`; its ``server_name`` makes the matrix.to links,
  and room aliases come from the same templates ``podium apply`` uses, so links always match.
* ``data_dir``: Podium's data directory; the server opens its own read-only use of
  ``data_dir/podium.db`` for questions and polls and watches ``PRAGMA data_version`` to push
  changes to open pages. Poster PDFs fetched from their web addresses are kept in
  ``data_dir/poster-cache/``.
* ``delays``: how late each track runs (track id -> minutes). Every page shows times shifted by
  it (now/next, stream, schedule, which talk's questions the board shows). By default (None)
  they are the delays moderators set with ``!delay``, read from the store after each change; a
  mapping given here is used instead, read on every request, so it may be changed in place.
* ``now``: a callable returning an aware ``datetime``; the real clock unless a test injects one.
* ``templates_dir`` (optional): the room templates the conference was applied with, when not
  the bundled ``room-templates/`` (aliases, and so the links, come from them).
* ``limits``: a :class:`bot.web.limits.WebLimits`: how many connections the server keeps open,
  how many of them may be event streams, how many streams and connections one client address
  may hold, how long a new connection has to send its request headers, and which reverse
  proxies are trusted to name the client. By default sized from the process's limit on open
  files, keeping a reserve for the bot (``WebLimits.within(open_files, streams=..., ...)``),
  with no trusted proxy. Past a cap the answer is a 503 with ``Retry-After``; the pages'
  scripts retry later, less often each time.

``create_bare_app(limits=None)``: a server without pages, under the same limits; the bot running
without its pages as an application service serves the homeserver's transactions on it alone.

``async start_web(app, host, port) -> aiohttp.web.AppRunner`` listens and returns the runner.
It accepts connections itself (see ``listener.py``): past the connection cap, or past one
address's share, a new one gets a 503 and is closed; one that has not sent its request headers
in time is closed; running out of file descriptors is logged once, not once per attempt. A
malformed request is logged as one line, so many a minute (``requestlog.py``).

Pages (all GET; no cookies, no forms, only public schedule data):

=========================== ===============================================================
``/``                       links to everything below
``/schedule``               the whole programme by day and track, delays applied
``/posters``                poster gallery: title, presenters, abstract, PDF, poster room
``/posters/<id>.pdf``       the poster's PDF, from this server's origin (see ``posters.py``)
``/widgets/stream/<track>`` the track's stream (iframe or HLS) with the now/next cards beside it
``/widgets/now-next``       every track's now and next with links to the rooms; ``?track=``
                            highlights one
``/widgets/qa/<track>``     the current talk's questions, ranked, live; ``?view=moderator``
                            for the backstage screen
``/widgets/polls/<track>``  the track's polls as live bars
``/widgets/poster/<id>``    one poster, drawn page by page by the bundled pdf.js
``/widgets/sponsor/<id>``   a sponsor's booth page
``/api/now-next``           the navigator's data as JSON
``/schedule.ics``           the programme as iCalendar (``bridges/ical.py``), delays applied
``/tracks/<id>.ics``        one track's talks as iCalendar
=========================== ===============================================================

Every response carries a Content-Security-Policy allowing only Podium's own scripts and styles
(``frame-ancestors *`` so any Matrix client can embed the widgets); the stream page adds the one
outside origin it shows (for HLS: the playlist's host, which must also serve the segments), the
poster page pdf.js's worker from this server. ``?theme=dark`` (Element passes its theme) darkens a page.
"""

from .app import create_app, create_bare_app, start_web

__all__ = ["create_app", "create_bare_app", "start_web"]
