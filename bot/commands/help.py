"""``!help``: the commands the sender may use in this room, or one command in detail."""

from __future__ import annotations

from . import PREFIX, Context, command
from .message import code, message, user


@command("help", help="what you can do here; !help <command> for one command", usage="!help [command]")
async def help_(ctx: Context) -> None:
    registry = ctx.registry
    assert registry is not None  # set by the registry that dispatched this event
    usable = registry.available(ctx.role, ctx.room)
    if ctx.args:
        name = ctx.args.split()[0].removeprefix(PREFIX).lower()
        cmd = registry.get(name)
        if cmd is None or cmd not in usable:
            await ctx.reply(message(code(PREFIX, user(name, 40)), " is not something you can use here. Send ",
                                    code(PREFIX, "help"), " for the list."))
            return
        aliases = f" (also {', '.join(PREFIX + a for a in cmd.aliases)})" if cmd.aliases else ""
        await ctx.reply(message(code(cmd.usage), f"{aliases}: {cmd.help}"))
        return
    await ctx.reply(message(f"What you can do here (as {ctx.role.label}):")
                    .items((code(cmd.usage), f" — {cmd.help}") for cmd in usable))
