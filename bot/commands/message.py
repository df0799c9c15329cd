"""A bot message, built once: its plain ``body`` and its HTML ``formatted_body`` come from the
same parts, so the two always say the same and no handler escapes anything by hand.

Parts are the bot's own words (``str``, ``int``), someone's text (``user``: made one visible line
by ``one_line``, so a name or a question can never start a line of the bot's own), markup
around parts (``bold``, ``italic``, ``code``) and links (``link``). Every piece of text is
HTML-escaped in the HTML body, the bot's own words too ("Q&A" is "Q&amp;A"), and so is every
link's URL::

    message(bold("Q", 7), " · ", user(name), ": ", user(text)).line(italic("(👍 this message to upvote)"))
    message("Top questions:").items([("Q1 · ", user(text))])
    message("On now in ", room(links, track_key("forum"), track_name))

Line breaks come only from ``line`` and ``items``: a part with a line break in it is a mistake
in the bot, and refused.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Union
from urllib.parse import quote

from ..conference.display import RoomLinks
from ..conference.userinput import one_line


@dataclass(frozen=True)
class Span:
    """Parts inside one HTML element (``tag``), or someone's text (``tag`` None, one ``str``)."""

    tag: str | None
    parts: tuple["Part", ...]
    href: str | None = None  # a link's target (``tag`` "a")


Part = Union[str, int, Span]


def user(text: str, limit: int | None = None) -> Span:
    """Text someone else wrote (a display name, a question, a poll option, a word they typed)."""
    return Span(None, (one_line(text, limit),))


def bold(*parts: Part) -> Span:
    return Span("b", parts)


def italic(*parts: Part) -> Span:
    return Span("i", parts)


def code(*parts: Part) -> Span:
    return Span("code", parts)


def link(url: str, *parts: Part) -> Span:
    """A link to ``url`` reading ``parts``, or the URL itself when there are none (what Element
    shows as a room pill for a matrix.to link). The plain body has the URL after the parts, so
    clients without HTML can follow it too. Only http(s) URLs: a link is the bot's own, and a
    ``javascript:`` one is a mistake in the bot, refused like a line break."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in ("http", "https") or not rest or any(c.isspace() or ord(c) < 32 for c in url):
        raise ValueError(f"not an http(s) link: {url!r}")
    return Span("a", parts or (url,), href=url)


def room(links: RoomLinks | None, key: str, name: str) -> Span:
    """A mention of the conference room of ``key`` (``track/forum``), reading ``name``: a
    matrix.to link to its alias that names the server to join through (``via``), so it opens the
    room for a reader who is not in it yet as for one who is. Just the name where there is no
    link to give (no links, or a room the conference no longer has)."""
    alias = links.alias(key) if links is not None else None
    if alias is None:
        return user(name)
    return link(f"https://matrix.to/#/{quote(alias, safe='#:')}?via={quote(links.server_name, safe='')}", user(name))


@dataclass(frozen=True)
class _Items:
    rows: tuple[tuple[Part, ...], ...]
    numbered: bool


@dataclass(frozen=True)
class Message:
    """Lines and lists, in order; ``body`` and ``html`` render them."""

    blocks: tuple[tuple[Part, ...] | _Items, ...]

    def line(self, *parts: Part) -> Message:
        """The message with one more line."""
        return Message((*self.blocks, tuple(parts)))

    def items(self, rows: Iterable[Part | tuple[Part, ...]], *, numbered: bool = False) -> Message:
        """The message with a list: a line per row in the body (``1.``, ``2.`` … when
        ``numbered``), ``<ul>``/``<ol>`` in the HTML."""
        as_tuples = tuple(row if isinstance(row, tuple) else (row,) for row in rows)
        return Message((*self.blocks, _Items(as_tuples, numbered)))

    @property
    def body(self) -> str:
        lines: list[str] = []
        for block in self.blocks:
            if isinstance(block, _Items):
                for n, row in enumerate(block.rows, 1):
                    lines.append((f"{n}. " if block.numbered else "") + _plain(row))
            else:
                lines.append(_plain(block))
        return "\n".join(lines)

    @property
    def html(self) -> str:
        out: list[str] = []
        for i, block in enumerate(self.blocks):
            if isinstance(block, _Items):
                tag = "ol" if block.numbered else "ul"
                out.append(f"<{tag}>" + "".join(f"<li>{_html(row)}</li>" for row in block.rows) + f"</{tag}>")
            else:
                # A list is a block of its own; only a line after a line needs a break.
                if i and not isinstance(self.blocks[i - 1], _Items):
                    out.append("<br>")
                out.append(_html(block))
        return "".join(out)

    def content(self, *, notice: bool = True) -> dict[str, Any]:
        """The ``m.room.message`` content. ``m.mentions`` is empty: the bot means to notify no
        one, so an "@room" or someone's name inside a question pings nobody (the homeserver's
        mention rules read the body only for messages without ``m.mentions``)."""
        return {
            "msgtype": "m.notice" if notice else "m.text",
            "body": self.body,
            "format": "org.matrix.custom.html",
            "formatted_body": self.html,
            "m.mentions": {},
        }


def message(*parts: Part) -> Message:
    """A message whose first line is ``parts``."""
    return Message((tuple(parts),))


def _text(part: str | int) -> str:
    text = str(part)
    if "\n" in text or "\r" in text:
        raise ValueError(f"a message part spans lines ({text!r}): use Message.line or Message.items")
    return text


def _plain(parts: tuple[Part, ...]) -> str:
    out = []
    for part in parts:
        if not isinstance(part, Span):
            out.append(_text(part))
            continue
        text = _plain(part.parts)
        out.append(text if part.href is None or text == part.href else f"{text} ({part.href})")
    return "".join(out)


def _html(parts: tuple[Part, ...]) -> str:
    out = []
    for part in parts:
        if not isinstance(part, Span):
            out.append(html.escape(_text(part)))
        elif part.tag is None:
            out.append(_html(part.parts))
        elif part.href is not None:
            out.append(f'<a href="{html.escape(part.href, quote=True)}">{_html(part.parts)}</a>')
        else:
            out.append(f"<{part.tag}>{_html(part.parts)}</{part.tag}>")
    return "".join(out)
