"""The transactions a homeserver pushed, kept in podium.db: stored with their events in one
commit, once; their events pending, in the order pushed, until handled; and a data directory
from before pending events were kept upgraded in place with the transactions it had taken.
"""

from __future__ import annotations

import sqlite3

from bot.store.schema import UPGRADES, VERSION, open_database, upgrade, version
from bot.store.transactions import PushedTransactions


def _event(n: int) -> dict:
    return {"event_id": f"$e{n}", "room_id": "!r:example.org", "type": "m.room.message", "content": {"body": str(n)}}


def test_a_transaction_is_stored_once_and_its_events_stay_pending_in_order_until_handled():
    db = open_database(":memory:")
    pushed = PushedTransactions(db, "podium")
    assert pushed.store("1", [_event(1), _event(2)], at=100.0)
    assert pushed.store("2", [_event(3)], at=101.0)
    assert not pushed.store("1", [_event(9)], at=102.0), "the same id again stores nothing"
    assert not PushedTransactions(db, "other").pending_after(0), "another registration's are not its"

    first = pushed.pending_after(0)
    assert first is not None
    assert (first.txn_id, first.received_at, [e["event_id"] for e in first.events]) == ("1", 100.0, ["$e1", "$e2"])
    second = pushed.pending_after(first.last)
    assert second is not None and (second.txn_id, second.events) == ("2", [_event(3)])
    assert pushed.pending_after(second.last) is None

    pushed.handled("1")
    again = pushed.pending_after(0)
    assert again is not None and again.txn_id == "2"
    # A transaction's id is forgotten in time, but not while its events are pending.
    assert pushed.forget_before(1000.0) == 1
    assert not pushed.store("2", [], at=103.0)
    assert pushed.store("1", [], at=103.0), "forgotten: taken as new"


def test_a_data_directory_with_taken_transactions_is_upgraded_in_place(tmp_path):
    path = tmp_path / "podium.db"
    db = sqlite3.connect(path)
    upgrade(db, path, UPGRADES[:7])
    with db:
        db.execute("INSERT INTO pushed_transactions (service, txn_id, handled_at) VALUES ('podium', '7', 1.0)")
    db.close()

    store = open_database(path)
    assert version(store.conn) == VERSION
    pushed = PushedTransactions(store, "podium")
    assert not pushed.store("7", [_event(1)], at=2.0), "taken before the upgrade"
    assert pushed.pending_after(0) is None
    assert pushed.store("8", [_event(2)], at=3.0)
    assert pushed.pending_after(0) is not None
    store.close()
