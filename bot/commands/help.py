"""``!help``: the commands the sender may use in this room, or one command in detail."""

from __future__ import annotations

import html

from . import PREFIX, Context, command


@command("help", help="what you can do here; !help <command> for one command", usage="!help [command]")
async def help_(ctx: Context) -> None:
    registry = ctx.registry
    assert registry is not None  # set by the registry that dispatched this event
    usable = registry.available(ctx.role, ctx.room)
    if ctx.args:
        name = ctx.args.split()[0].removeprefix(PREFIX).lower()
        cmd = registry.get(name)
        if cmd is None or cmd not in usable:
            await ctx.reply(f"{PREFIX}{name} is not something you can use here. Send {PREFIX}help for the list.",
                            f"<code>{html.escape(PREFIX + name)}</code> is not something you can use here. "
                            f"Send <code>{PREFIX}help</code> for the list.")
            return
        aliases = f" (also {', '.join(PREFIX + a for a in cmd.aliases)})" if cmd.aliases else ""
        await ctx.reply(f"{cmd.usage}{aliases}: {cmd.help}",
                        f"<code>{html.escape(cmd.usage)}</code>{html.escape(aliases)}: {html.escape(cmd.help)}")
        return
    lines = [(cmd.usage, cmd.help) for cmd in usable]
    body = "\n".join([f"What you can do here (as {ctx.role.label}):", *(f"{u} — {h}" for u, h in lines)])
    formatted = (f"<p>What you can do here (as {ctx.role.label}):</p><ul>"
                 + "".join(f"<li><code>{html.escape(u)}</code> — {html.escape(h)}</li>" for u, h in lines) + "</ul>")
    await ctx.reply(body, formatted)
