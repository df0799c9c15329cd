"""pydantic's validation errors in the organisers' words: what is wrong at each place, and what
to write instead."""

from __future__ import annotations

import difflib
import re
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel

from .errors import _show, _suggest
from .models import Schedule


def _unwrap(t: Any) -> Any:
    while True:
        origin = get_origin(t)
        if origin is Annotated:
            t = get_args(t)[0]
        elif origin is Union or (origin is not None and str(origin) == "types.UnionType"):
            args = [a for a in get_args(t) if a is not type(None)]
            if len(args) != 1:
                return t
            t = args[0]
        else:
            return t


def _field_at(loc: tuple) -> tuple[type[BaseModel] | None, Any]:
    """The model that holds the last element of ``loc`` and that field's annotation."""
    t: Any = Schedule
    model: type[BaseModel] | None = None
    annotation: Any = None
    for part in loc:
        t = _unwrap(t)
        if isinstance(part, int):
            if get_origin(t) is list:
                t = get_args(t)[0]
                continue
            return None, None
        if isinstance(t, type) and issubclass(t, BaseModel):
            model = t
            f = t.model_fields.get(part)
            if f is None:
                return model, None
            t = annotation = f.annotation
            continue
        return None, None
    return model, _unwrap(annotation) if annotation is not None else None


_NOUNS = {"tracks": "track", "talks": "talk", "posters": "poster", "sponsors": "sponsor",
          "helpdesks": "helpdesk", "lobby": "lobby room", "rooms": "room", "slots": "slot",
          "jobs": "job", "speakers": "speaker", "presenters": "presenter"}


def _friendly(err: dict) -> str:
    kind: str = err["type"]
    loc: tuple = tuple(err["loc"])
    value = err.get("input")
    field = loc[-1] if loc else None
    if kind.startswith("podium_"):
        return err["msg"]
    if kind == "missing":
        if loc == ("conference",):
            return ("the conference section is missing; start the file with 'conference:' "
                    "giving id, name, timezone, start and end")
        model, _ = _field_at(loc)
        where = "this entry"
        if len(loc) >= 3 and isinstance(loc[-2], int) and loc[-3] in _NOUNS:
            where = f"this {_NOUNS[loc[-3]]}"
        elif len(loc) >= 2 and isinstance(loc[-2], str):
            where = f"'{loc[-2]}'"
        return f"required field '{field}' is missing; add '{field}: ...' to {where}"
    if kind == "extra_forbidden":
        model, _ = _field_at(loc)
        known = list(model.model_fields) if model else []
        hint = _suggest(field, known)
        if isinstance(field, str) and not hint:
            head = re.split(r"[\s:]", field, maxsplit=1)[0]
            if head in known and ":" in field:
                hint = f" (is a space missing after '{head}:'?)"
            elif head in known and head != field:
                hint = f" (is a ':' missing after '{head}'?)"
        if model is Schedule:
            return (f"unknown section '{field}'{hint}; the sections are: {', '.join(known)}")
        return f"unknown field '{field}'{hint}; fields allowed here: {', '.join(known)}"
    if kind == "invalid_key":
        return ("a field name must be text; check for a stray ':' or a missing name before "
                "the ':'")
    if kind == "literal_error":
        _, ann = _field_at(loc)
        allowed = [a for a in get_args(ann) if isinstance(a, str)] if ann is not None else []
        if not allowed:
            return f"{_show(value)} is not allowed here; choose one of {err['ctx']['expected']}"
        return (f"{_show(value)} is not a valid {field}{_suggest(value, allowed)}; choose one of: "
                f"{', '.join(allowed)}")
    if kind in ("string_type", "string_sub_type"):
        return f"expected text here, not {_show(value)}; put it in quotes if you meant text"
    if kind in ("bool_type", "bool_parsing"):
        return f"expected true or false here, not {_show(value)}"
    if kind in ("list_type", "tuple_type", "iterable_type"):
        noun = _NOUNS.get(field, "item") if isinstance(field, str) else "item"
        return (f"'{field}' should be a list, not {_show(value)}; write each {noun} on its own "
                "line starting with '- '")
    if kind in ("model_type", "model_attributes_type", "dict_type", "mapping_type"):
        model, ann = _field_at(loc)
        names = ", ".join(ann.model_fields) if isinstance(ann, type) and issubclass(
            ann, BaseModel) else ""
        what = f"'{field}'" if isinstance(field, str) else "this entry"
        return (f"{what} should be a block of 'name: value' fields"
                f"{' (' + names + ')' if names else ''}, not {_show(value)}; "
                "check the indentation")
    if kind == "value_error":
        return err["msg"].removeprefix("Value error, ")
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return f"expected a whole number here, not {_show(value)}"
    return f"{err['msg']} (got {_show(value)})"


def _without_typo_echoes(errors: list[dict]) -> list[dict]:
    """Drop "required field 'title' is missing" when the same entry has an unknown field
    'tittle' that looks like it: the unknown-field message already says "did you mean"."""
    unknown: dict[tuple, list[str]] = {}
    for err in errors:
        if err["type"] == "extra_forbidden" and err["loc"] and isinstance(err["loc"][-1], str):
            unknown.setdefault(tuple(err["loc"][:-1]), []).append(err["loc"][-1].lower())
    out = []
    for err in errors:
        loc = tuple(err["loc"])
        if err["type"] == "missing" and loc and isinstance(loc[-1], str):
            name, near = loc[-1].lower(), unknown.get(loc[:-1], [])
            heads = [re.split(r"[\s:]", u, maxsplit=1)[0] for u in near]
            if name in heads or difflib.get_close_matches(name, near, n=1, cutoff=0.6):
                continue
        out.append(err)
    return out
