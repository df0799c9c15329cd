"""``!reload``: an organiser puts the edited schedule.yaml in force now.

``podium run`` notices an edit by itself within seconds; ``!reload`` is for not waiting, and for
seeing the outcome where one is: the located errors of a broken file (the schedule in force
stays), or what was reloaded and whether the rooms are up to date.
"""

from __future__ import annotations

from . import Context, Role, UsageError, command
from .message import message


@command("reload", help="put the edited schedule.yaml in force now, rooms reconciled", usage="!reload",
         role=Role.ORGANISER)
async def reload(ctx: Context) -> None:
    if ctx.args:
        raise UsageError("!reload takes nothing after it")
    if ctx.reload is None:
        await ctx.reply(message("This bot does not follow schedule.yaml (it runs without the file)."))
        return
    await ctx.reply(await ctx.reload(announce=False))
