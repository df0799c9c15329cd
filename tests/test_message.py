"""The message builder (bot.commands.message): one set of parts, a plain body and an HTML body
that say the same, with everyone else's text on one line and escaped."""

from __future__ import annotations

import html
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.commands.message import bold, code, italic, message, user


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
