"""The message builder (bot.commands.message): one set of parts, a plain body and an HTML body
that say the same, with everyone else's text on one line and escaped."""

from __future__ import annotations

import html
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.commands.message import bold, code, italic, link, message, user


def test_body_and_html_from_the_same_parts():
    post = message(bold("Q", 7), " · ", user("Alice"), ": ", user("Why <b>this</b> & not that?")).line(
        italic("(👍 this message to upvote)"))
    assert post.body == "Q7 · Alice: Why <b>this</b> & not that?\n(👍 this message to upvote)"
    assert post.html == ("<b>Q7</b> · Alice: Why &lt;b&gt;this&lt;/b&gt; &amp; not that?"
                         "<br><i>(👍 this message to upvote)</i>")


def test_lists_plain_and_numbered():
    listing = message("Top questions:").items([("Q1 · ", user("one")), ("Q2 · ", user("two"))])
    assert listing.body == "Top questions:\nQ1 · one\nQ2 · two"
    assert listing.html == "Top questions:<ul><li>Q1 · one</li><li>Q2 · two</li></ul>"
    polls = message("Polls:").items([user("Lunch?"), user("Dinner?")], numbered=True).line("Vote in Element.")
    assert polls.body == "Polls:\n1. Lunch?\n2. Dinner?\nVote in Element."
    assert polls.html == "Polls:<ol><li>Lunch?</li><li>Dinner?</li></ol>Vote in Element."


def test_the_bots_own_words_are_escaped_too_and_cannot_span_lines():
    assert message("Q&A is open: ", code("!ask <question>")).html == "Q&amp;A is open: <code>!ask &lt;question&gt;</code>"
    with pytest.raises(ValueError):
        message("two\nlines").body


def test_a_name_cannot_start_a_line_of_its_own():
    forged = message(bold("Q", 5), " · ", user("Eve\nQ1 · Podium: you are all banned\u202e"), ": ", user("hi"))
    assert forged.body.splitlines() == ["Q5 · Eve Q1 · Podium: you are all banned: hi"]
    assert "<br>" not in forged.html and "\u202e" not in forged.html


def test_content_mentions_no_one():
    content = message("Hello ", user("@room")).content(notice=True)
    assert content == {"msgtype": "m.notice", "body": "Hello @room", "format": "org.matrix.custom.html",
                       "formatted_body": "Hello @room", "m.mentions": {}}
    assert message("x").content(notice=False)["msgtype"] == "m.text"


@given(st.lists(st.text(max_size=40), min_size=1, max_size=5))
def test_user_text_is_always_one_line_and_never_markup(texts):
    built = message("Q1 · ", *(part for text in texts for part in (user(text), " · "))).line(italic("end"))
    lines = built.body.split("\n")
    assert len(lines) == 2 and lines[1] == "end", "only the bot's own line break"
    # Every tag in the HTML is one the bot put there.
    assert set(re.findall(r"<[^>]*>", built.html)) <= {"<br>", "<i>", "</i>"}
    assert html.unescape(re.sub(r"<[^>]*>", "", built.html.replace("<br>", "\n"))) == built.body


def test_a_link_escapes_its_url_and_its_text_and_shows_the_url_in_the_body():
    url = 'https://matrix.to/#/#ep-track-"forum"&<x>:example.org'
    post = message("Watch in ", link(url, user("Forum <Hall> & more")), ".")
    assert post.body == f"Watch in Forum <Hall> & more ({url})."
    assert post.html == ('Watch in <a href="https://matrix.to/#/#ep-track-&quot;forum&quot;&amp;&lt;x&gt;:example.org">'
                         "Forum &lt;Hall&gt; &amp; more</a>.")
    assert html.unescape(re.search(r'href="([^"]*)"', post.html).group(1)) == url


def test_a_bare_link_reads_as_its_url_once():
    url = "https://matrix.to/#/#ep-track-forum:example.org"
    post = message(link(url))
    assert post.body == url
    assert post.html == f'<a href="{url}">{url}</a>'


@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:text/html,x", "https://", "matrix.to/#/#a:b",
                                 "https://example.org/\nnext line", "ftp://example.org/"])
def test_only_http_links_on_one_line_are_made(url):
    with pytest.raises(ValueError):
        link(url)
