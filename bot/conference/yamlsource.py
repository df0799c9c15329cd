"""Load hand-written YAML while remembering where every value came from.

Organisers write ``schedule.yaml`` by hand, so every complaint about it must name a line.
:func:`load_yaml` parses the text with a safe loader and returns the plain Python data together
with a :class:`LineMap` that knows the (1-based) line of every mapping key and sequence item,
addressed by its path, e.g. ``("talks", 3, "duration") -> 42``.

The loader differs from ``yaml.safe_load`` on purpose:

* Dates and times are *not* turned into ``date``/``datetime`` objects. They stay strings so the
  schedule model can parse them itself and give naive times the conference timezone.
* Scalars resolve like YAML 1.2: only ``true``/``false`` are booleans (``no``, ``on``, ``yes``
  stay text, so a room id ``no`` is not silently ``False``), and ``13:00`` is text rather than the
  YAML 1.1 base-60 integer 780.
* A key that appears twice in one mapping is an error (YAML would silently keep the last one).
* Syntax errors become :class:`YamlSourceError` with the line and a hint how to fix it, and so
  do characters YAML does not allow in a file at all (a NUL or ESC byte, say).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Iterator

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

__all__ = [
    "LineMap",
    "YamlProblem",
    "YamlSourceError",
    "format_path",
    "load_yaml",
]

Path = tuple[Any, ...]

#: Guards against alias bombs ("billion laughs") and absurd nesting.
MAX_NODES = 500_000
MAX_DEPTH = 100

_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MERGE_TAG = "tag:yaml.org,2002:merge"

_NO_DATA = object()


def format_path(path: Path) -> str:
    """``("talks", 3, "duration")`` -> ``"talks[3].duration"``; ``()`` -> ``""``."""
    out = ""
    for part in path:
        if isinstance(part, int) and not isinstance(part, bool):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


class LineMap:
    """The source line of every mapping key and sequence item, by path."""

    def __init__(self, lines: dict[Path, int] | None = None) -> None:
        self._lines: dict[Path, int] = dict(lines or {})

    def record(self, path: Path, line: int) -> None:
        self._lines[tuple(path)] = line

    def forget_under(self, path: Path) -> None:
        """Drop ``path`` and everything below it (used when a merged key is overridden)."""
        n = len(path)
        for p in [p for p in self._lines if p[:n] == path]:
            del self._lines[p]

    def line_for(self, path: Path) -> int | None:
        """The line of ``path``, else of the nearest enclosing path that has one."""
        path = tuple(path)
        for n in range(len(path), -1, -1):
            line = self._lines.get(path[:n])
            if line is not None:
                return line
        return None

    def get(self, path: Path) -> int | None:
        """The line of exactly ``path`` (no fallback)."""
        return self._lines.get(tuple(path))

    def __contains__(self, path: object) -> bool:
        return path in self._lines

    def __len__(self) -> int:
        return len(self._lines)

    def __iter__(self) -> Iterator[Path]:
        return iter(self._lines)

    def items(self):
        return self._lines.items()

    def __repr__(self) -> str:
        return f"LineMap({len(self._lines)} paths)"


@dataclass(frozen=True)
class YamlProblem:
    line: int | None
    path: Path
    message: str


class YamlSourceError(ValueError):
    """The YAML could not be read cleanly.

    ``problems`` lists every problem found. For syntax errors ``data`` is ``None`` and
    ``has_data`` is false. For duplicate keys the rest of the file was still read (the first
    occurrence of each key is kept): ``has_data`` is true and ``data``/``lines`` hold the result,
    so a caller can go on and report further mistakes in the same run.
    """

    def __init__(self, filename: str, problems: list[YamlProblem], data: Any = _NO_DATA,
                 lines: LineMap | None = None) -> None:
        self.filename = filename
        self.problems = problems
        self.has_data = data is not _NO_DATA
        self.data = None if data is _NO_DATA else data
        self.lines = lines if lines is not None else LineMap()
        super().__init__(str(self))

    def __str__(self) -> str:
        out = []
        for p in self.problems:
            where = f"{self.filename}:{p.line}" if p.line is not None else self.filename
            path = format_path(p.path)
            out.append(f"{where}: {path + ': ' if path else ''}{p.message}")
        return "\n".join(out)


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2-like implicit typing and no timestamp resolution."""

    yaml_implicit_resolvers: dict = {}


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^(?:[-+]?(?:0|[1-9][0-9_]*)|0x[0-9a-fA-F]+|0o[0-7]+)$"),
    list("-+0123456789"))
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
                    |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
                    |\.[0-9][0-9_]*(?:[eE][-+]?[0-9]+)?
                    |[-+]?\.(?:inf|Inf|INF)
                    |\.(?:nan|NaN|NAN))$""", re.X),
    list("-+0123456789."))
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""])
_Loader.add_implicit_resolver("tag:yaml.org,2002:merge", re.compile(r"^(?:<<)$"), ["<"])


def _construct_int(loader: yaml.SafeLoader, node: ScalarNode) -> int:
    text = loader.construct_scalar(node).replace("_", "")
    if text.startswith("0o"):
        return int(text[2:], 8)
    return int(text, 0) if text.startswith("0x") else int(text)


# YAML 1.1 reads "010" as octal 8 and "1:30" as base 60; ours is plain decimal (the resolver
# above only ever hands it decimal, 0x.. or 0o.. text).
_Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)


def _hint(problem: str) -> str:
    p = problem or ""
    if "'\\t'" in p or "\\t" in p:
        return "YAML does not allow tabs for indentation; indent with spaces"
    if "'@'" in p:
        return 'a value starting with @ must be quoted, e.g. "@alice:example.org"'
    if "'`'" in p:
        return "a value starting with ` must be quoted"
    if "mapping values are not allowed" in p:
        return ("text that contains ': ' must be quoted, e.g. title: \"Python: the good parts\"; "
                "otherwise check the indentation")
    if "expected <block end>" in p or "did not find expected key" in p:
        return "check the indentation of this line and the lines above it"
    if "found undefined alias" in p:
        return "every *alias must refer to an &anchor defined earlier in the file"
    if "could not find expected ':'" in p:
        return "each field needs 'name: value'; check for a missing colon or an unclosed quote"
    if "found unexpected end" in p:
        return "a quote or bracket is not closed"
    if "expected ',' or ']'" in p or "expected ',' or '}'" in p:
        return "a [list] or {mapping} is not closed, or an item in it needs quotes"
    if "could not determine a constructor" in p:
        return "remove the !tag; schedule files only use plain YAML values"
    return "check the quoting and indentation around this line"


#: What YAML counts as a line break, so that lines counted here agree with the parser's.
_LINE_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")


def _unreadable_character(text: str, err: yaml.reader.ReaderError) -> YamlProblem:
    """Where the character the YAML reader refused is, and what it is."""
    before = text[:err.position]
    breaks = list(_LINE_BREAK.finditer(before))
    column = err.position - (breaks[-1].end() if breaks else 0) + 1
    code = int(err.character)  # the code point, for text as for bytes
    kind = "control character" if unicodedata.category(chr(code)) == "Cc" else "character"
    return YamlProblem(len(breaks) + 1, (), (
        f"column {column} holds the {kind} U+{code:04X}, which a YAML file may not contain; "
        "delete it (an editor may show it as a box, as ^@ or ^[, or not at all)"))


def _mark_line(err: yaml.MarkedYAMLError) -> int | None:
    mark = err.problem_mark or err.context_mark
    if err.context_mark is not None and "<stream end>" in (err.problem or ""):
        mark = err.context_mark  # where the unclosed thing was opened
    return mark.line + 1 if mark is not None else None


class _Builder:
    """Turns a composed node tree into plain data, recording lines and collecting problems."""

    def __init__(self, loader: _Loader) -> None:
        self.loader = loader
        self.lines = LineMap()
        self.problems: list[YamlProblem] = []
        self.count = 0
        self.active: set[int] = set()

    def build(self, node: Node, path: Path) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise _Abort(node, "the file expands to far too many values; "
                               "check for aliases (*name) that repeat large parts of it")
        if len(path) > MAX_DEPTH:
            raise _Abort(node, "the file is nested too deeply")
        if isinstance(node, MappingNode) and node.tag == _MAP_TAG:
            return self._guarded(node, path, self._mapping)
        if isinstance(node, SequenceNode) and node.tag == _SEQ_TAG:
            return self._guarded(node, path, self._sequence)
        # Scalars and explicitly tagged nodes (!!set, !!binary, ...): let the safe constructor
        # do it.
        return self.loader.construct_object(node, deep=True)

    def _guarded(self, node: Node, path: Path, fn) -> Any:
        if id(node) in self.active:
            raise _Abort(node, "an alias (*name) refers to the value that contains it; "
                               "YAML data for a schedule cannot be recursive")
        self.active.add(id(node))
        try:
            return fn(node, path)
        finally:
            self.active.discard(id(node))

    def _key(self, key_node: Node) -> tuple[bool, Any]:
        if not isinstance(key_node, ScalarNode):
            self.problems.append(YamlProblem(
                key_node.start_mark.line + 1, (),
                "a field name must be plain text, not a list or mapping; check the indentation"))
            return False, None
        key = self.loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:  # pragma: no cover - scalars are hashable
            return False, None
        return True, key

    def _mapping(self, node: MappingNode, path: Path) -> dict:
        result: dict[Any, Any] = {}
        merges: list[Node] = []
        explicit: list[tuple[Node, Node]] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                merges.append(value_node)
            else:
                explicit.append((key_node, value_node))

        # Merge keys (<<: *defaults) first; explicit keys then override them. With a list of
        # merges the earlier ones win, so apply them last.
        sources: list[Node] = []
        for m in merges:
            if isinstance(m, SequenceNode):
                sources.extend(m.value)
            else:
                sources.append(m)
        for src in reversed(sources):
            if not (isinstance(src, MappingNode) and src.tag == _MAP_TAG):
                self.problems.append(YamlProblem(
                    src.start_mark.line + 1, path,
                    "'<<' can only merge mappings (an *alias to a mapping, or a list of them)"))
                continue
            merged = self._guarded(src, path, self._mapping)
            result.update(merged)

        first_line: dict[Any, int] = {}
        for key_node, value_node in explicit:
            ok, key = self._key(key_node)
            if not ok:
                continue
            line = key_node.start_mark.line + 1
            if key in first_line:
                self.problems.append(YamlProblem(
                    line, path + (key,),
                    f"'{key}' appears twice in the same block (first on line {first_line[key]}); "
                    "YAML would silently keep only the last one, so remove or rename one of them"))
                continue
            first_line[key] = line
            if key in result:  # overriding a merged value: forget the merged lines
                self.lines.forget_under(path + (key,))
            self.lines.record(path + (key,), line)
            result[key] = self.build(value_node, path + (key,))
        return result

    def _sequence(self, node: SequenceNode, path: Path) -> list:
        out = []
        for i, item in enumerate(node.value):
            self.lines.record(path + (i,), item.start_mark.line + 1)
            out.append(self.build(item, path + (i,)))
        return out


class _Abort(Exception):
    def __init__(self, node: Node, message: str) -> None:
        self.line = node.start_mark.line + 1
        self.message = message


def load_yaml(text: str, filename: str) -> tuple[Any, LineMap]:
    """Parse ``text`` and return ``(data, lines)``.

    Raises :class:`YamlSourceError` for syntax errors and duplicate keys; see its docstring.
    An empty document gives ``(None, lines)``.
    """
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        loader = _Loader(text)  # the reader checks every character here
    except yaml.reader.ReaderError as err:
        raise YamlSourceError(filename, [_unreadable_character(text, err)]) from None
    builder = _Builder(loader)
    try:
        try:
            root = loader.get_single_node()
        except yaml.MarkedYAMLError as err:
            problem = err.problem or err.context or "invalid YAML"
            if "single document" in (err.context or ""):
                message = ("the file holds more than one YAML document (a line with '---' or "
                           "'...'); keep everything in one document")
            else:
                message = f"YAML syntax error: {problem}; {_hint(problem)}"
            raise YamlSourceError(filename, [YamlProblem(_mark_line(err), (), message)]) from None
        except yaml.YAMLError as err:
            raise YamlSourceError(
                filename, [YamlProblem(None, (), f"YAML error: {err}")]) from None
        except RecursionError:
            raise YamlSourceError(
                filename, [YamlProblem(1, (), "the file is nested too deeply")]) from None
        if root is None:
            builder.lines.record((), 1)
            return None, builder.lines
        builder.lines.record((), root.start_mark.line + 1)
        try:
            data = builder.build(root, ())
        except _Abort as abort:
            raise YamlSourceError(filename, [YamlProblem(abort.line, (), abort.message)]) from None
        except yaml.MarkedYAMLError as err:
            problem = err.problem or err.context or "invalid value"
            raise YamlSourceError(filename, [YamlProblem(
                _mark_line(err), (), f"YAML error: {problem}; {_hint(problem)}")]) from None
        except RecursionError:
            raise YamlSourceError(
                filename, [YamlProblem(1, (), "the file is nested too deeply")]) from None
    finally:
        loader.dispose()
    if builder.problems:
        raise YamlSourceError(filename, builder.problems, data, builder.lines)
    return data, builder.lines
