"""Room templates: one YAML file per room kind, its values rendered with Jinja2.

A template is parsed as YAML first and only then are its string values rendered, each on its own.
That keeps user text (titles, names) out of the YAML parser: a talk called ``"foo": [bar]`` is
a title, never structure. A value that is exactly one ``{{ expression }}`` keeps the expression's
native type, so a template can hand over lists (``invite: "{{ sponsor.staff }}"``) and numbers.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from jinja2 import StrictUndefined, TemplateError, Undefined
from jinja2.sandbox import SandboxedEnvironment

from ..conference.inputfile import SCHEDULE_LIMIT, InputRefused, read_input
from ..resources import resource

#: The room kinds a conference is made of; each has ``room-templates/<kind>.yaml``.
KINDS = (
    "space",
    "lobby",
    "track",
    "backstage",
    "breakout",
    "poster",
    "sponsor",
    "helpdesk",
    "helpdesk-staff",
    "open-space",
)
BASE = "_base"
#: The templates shipped with Podium; ``--templates DIR`` points elsewhere.
BUNDLED_TEMPLATES = resource("room-templates")

_WHOLE_EXPRESSION = re.compile(r"^\{\{(?P<expr>(?:(?!\}\}).)*)\}\}$", re.S)


class TemplateProblem(Exception):
    """A room template is missing, is not valid YAML, or failed to render."""


@dataclass(frozen=True)
class RoomTemplates:
    """The parsed (not yet rendered) templates of one template directory."""

    directory: Path
    raw: dict[str, dict[str, Any]]

    @classmethod
    def load(cls, directory: Path) -> "RoomTemplates":
        raw: dict[str, dict[str, Any]] = {}
        for name in (BASE, *KINDS):
            path = directory / f"{name}.yaml"
            try:
                data = yaml.safe_load(read_input(path, SCHEDULE_LIMIT, "a room template").decode("utf-8"))
            except FileNotFoundError:
                raise TemplateProblem(
                    f"{path}: missing room template; every kind needs one ({', '.join(KINDS)})"
                ) from None
            except InputRefused as exc:
                raise TemplateProblem(str(exc)) from None
            except (OSError, UnicodeDecodeError) as exc:
                raise TemplateProblem(f"{path}: cannot read it ({getattr(exc, 'strerror', None) or exc})") from None
            except yaml.YAMLError as exc:
                raise TemplateProblem(f"{path}: not valid YAML: {exc}") from None
            if not isinstance(data, dict):
                raise TemplateProblem(f"{path}: a room template must be a mapping of settings")
            raw[name] = data
        return cls(directory, raw)

    def render(self, kind: str, context: dict[str, Any]) -> dict[str, Any]:
        """The kind's settings merged onto the base, every value rendered with ``context``."""
        merged = deep_merge(self.raw[BASE], self.raw[kind])
        path = self.directory / f"{kind}.yaml"
        return _render_value(merged, _environment(), context, f"{path}")


def deep_merge(base: Any, override: Any) -> Any:
    """Mappings merge key by key; anything else in ``override`` replaces ``base``."""
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = deep_merge(base[key], value) if key in base else value
        return merged
    return override


_ENV: SandboxedEnvironment | None = None


def _environment() -> SandboxedEnvironment:
    global _ENV
    if _ENV is None:
        # Undefined names are template bugs: fail loudly instead of rendering "".
        _ENV = SandboxedEnvironment(undefined=StrictUndefined, keep_trailing_newline=False)
    return _ENV


@functools.lru_cache(maxsize=1024)
def _compiled(env: SandboxedEnvironment, source: str, expression: bool) -> Any:
    """Each template text is compiled once: compiling costs far more than rendering."""
    return env.compile_expression(source, undefined_to_none=False) if expression else env.from_string(source)


def _render_value(value: Any, env: SandboxedEnvironment, context: dict[str, Any], where: str) -> Any:
    if isinstance(value, dict):
        return {
            _render_value(k, env, context, where): _render_value(v, env, context, f"{where}: {k}")
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_render_value(v, env, context, f"{where}[{i}]") for i, v in enumerate(value)]
    if not isinstance(value, str) or "{" not in value:
        return value
    try:
        whole = _WHOLE_EXPRESSION.match(value.strip())
        if whole:
            result = _compiled(env, whole["expr"], True)(**context)
            if isinstance(result, Undefined):
                result._fail_with_undefined_error()  # raises UndefinedError naming what is missing
            return result
        return _compiled(env, value, False).render(**context)
    except TemplateError as exc:
        raise TemplateProblem(f"{where}: {exc} (in {value!r})") from None
