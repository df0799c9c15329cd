"""What a room's state says: the state events Podium writes and reads back (``state``) and the
folding of a /sync or a room's state into that model (``observation``). Below provisioning, so
the Matrix adapter and the store can use it without reaching up into provisioning."""
