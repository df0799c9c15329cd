"""The bot's receive time: each event stamped once, in the order it was seen, and kept across a
restart; and which direct messages count as a ticket-code try."""

from __future__ import annotations

from bot.conference.attendees import code_shape, could_be_code
from bot.store.received import ReceivedStore
from bot.store.schema import open_database
from bot.store.ticketcodes import TicketCodeStore


def test_events_are_stamped_once_in_the_order_seen_and_keep_their_stamp(tmp_path):
    path = tmp_path / "podium.db"
    store = ReceivedStore(open_database(path))
    first = store.stamp(["$a", "$b", "$c"], 1_000.0)
    assert first == {"$a": 1_000_000, "$b": 1_000_001, "$c": 1_000_002}, "one millisecond apart, in order"
    # The clock went back (or stands still): later events are still stamped after earlier ones.
    assert store.stamp(["$d"], 999.0) == {"$d": 1_000_003}
    # After a restart, an event seen again keeps its stamp, however late it comes back.
    again = ReceivedStore(open_database(path))
    assert again.stamp(["$b", "$e"], 5_000.0) == {"$b": 1_000_001, "$e": 5_000_000}
    assert again.of("$c") == 1_000_002 and again.of("$nowhere") is None


def test_old_stamps_are_forgotten(tmp_path):
    store = ReceivedStore(open_database(tmp_path / "podium.db"))
    store.stamp(["$old"], 100.0)
    store.stamp(["$new"], 200.0)
    assert store.forget_before(150.0) == 1
    assert store.of("$old") is None and store.of("$new") == 200_000


def test_only_a_message_shaped_like_a_loaded_code_is_a_try():
    shapes = {code_shape("TIX4ADA"), code_shape("t7ubdbwgcaz8evz8dyqffwn3ds3hrkc2")}
    assert could_be_code("WRONG1X", shapes) and could_be_code(" tix4ada ", shapes)
    assert not could_be_code("hello", shapes), "no code has five characters"
    assert not could_be_code("WRONGXY", shapes), "every seven-character code has a digit"
    assert not could_be_code("hello there", shapes) and not could_be_code("hi", shapes)
    # Five-letter order codes: then "hello" could be one, and a guess must cost a try.
    assert could_be_code("hello", {code_shape("DKFJS")})
    # A code loaded before shapes were kept may have any shape; with none loaded, every code-like word counts.
    assert could_be_code("hello", {None, code_shape("TIX4ADA")}) and could_be_code("hello", set())


def test_the_store_keeps_each_codes_shape_and_codes_from_before_have_none(tmp_path):
    db = open_database(tmp_path / "podium.db")
    codes = TicketCodeStore(db)
    assert codes.load("ep", ["TIX4ADA", "ABCDE"], 1.0).added == 2
    assert codes.shapes("ep") == {"7 digits", "5 letters"} and codes.shapes("other") == set()
    with db.conn:
        db.execute("INSERT INTO ticket_codes (conference, code_key, loaded_at) VALUES ('ep', 'digest', 0)")
    assert None in codes.shapes("ep")
