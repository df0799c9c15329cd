"""The accounts tests register on the session's Synapse."""

#: Password given to every user ``make_user`` registers (tests may log in again with it).
TEST_PASSWORD = "podium-test-password"
