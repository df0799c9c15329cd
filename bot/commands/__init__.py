"""Bot command families, one module each (ask, poll, openspace, schedule, moderation, help)."""
