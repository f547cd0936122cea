"""Load the YAML config, remembering the line of every node for error messages.

Errors are reported as ``FILE:LINE: path.to.field: what is wrong``; the value
that was wrong is never echoed, so a mistyped secret cannot leak.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional

import yaml
from pydantic import ValidationError

from .models import Config, semantic_errors

ENV_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
MAX_NODES = 200_000  # YAML aliases can expand a small file enormously ("billion laughs")
MAX_DEPTH = 64  # no real config nests deeper


class _Unreadable(Exception):
    """The YAML cannot be turned into data (recursive alias, too big, too deep)."""

    def __init__(self, line: int, path: tuple, message: str):
        super().__init__(message)
        self.line, self.path, self.message = line, path, message


@dataclass(frozen=True)
class ConfigIssue:
    file: str
    line: int
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.path}: {self.message}"


class ConfigError(Exception):
    """Raised with every issue found, not just the first."""

    def __init__(self, issues: list[ConfigIssue]):
        self.issues = issues
        super().__init__("\n".join(str(i) for i in issues))


_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9_:/-]*$")


def format_path(path: tuple) -> str:
    """``sites[0].service_hours.mon``; a key that is not a plain name (empty, spaces,
    dots, control characters) is quoted, ``aps[0]['a b']``, so the path stays readable."""
    out = ""
    for p in path:
        if isinstance(p, int):
            out += f"[{p}]"
        elif _PLAIN_KEY.match(str(p)):
            out += ("." if out else "") + str(p)
        else:
            out += f"[{str(p)[:60]!r}]"
    return out or "(top level)"


class _Tree:
    """YAML node tree -> Python data, with a line number per path."""

    def __init__(self, file: str, env: Mapping[str, str]):
        self.file = file
        self.env = env
        self.lines: dict[tuple, int] = {}
        self.issues: list[ConfigIssue] = []
        self._scalar = yaml.constructor.SafeConstructor()
        self._nodes = 0
        self._open: set[int] = set()  # collection nodes being built (a recursive alias)

    def build(self, node: yaml.Node, path: tuple = ()) -> Any:
        line = node.start_mark.line + 1
        self.lines[path] = line
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise _Unreadable(line, path, f"more than {MAX_NODES} values (aliases expanding?)")
        if len(path) > MAX_DEPTH:
            raise _Unreadable(line, path, f"nested deeper than {MAX_DEPTH} levels")
        if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
            if id(node) in self._open:
                raise _Unreadable(line, path, "an alias refers to a value that contains it")
            self._open.add(id(node))
            try:
                return self._collection(node, path)
            finally:
                self._open.discard(id(node))
        try:
            value = self._scalar.construct_object(node)
        except yaml.YAMLError as e:  # e.g. an unknown tag (!!python/object): never constructed
            raise _Unreadable(line, path, f"cannot read this value: {getattr(e, 'problem', None) or e}") from None
        if isinstance(value, str) and "${" in value:
            value = self._substitute(value, line, path)
        return value

    def _collection(self, node: yaml.Node, path: tuple) -> Any:
        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            for knode, vnode in node.value:
                try:
                    key = (self._scalar.construct_object(knode) if isinstance(knode, yaml.ScalarNode)
                           else None)
                except yaml.YAMLError:
                    key = None
                if not isinstance(key, (str, int)) or isinstance(key, bool):
                    self._issue(knode.start_mark.line + 1, path, "keys must be plain names")
                    continue
                if key in out:
                    self._issue(knode.start_mark.line + 1, path + (key,), "key given twice")
                out[key] = self.build(vnode, path + (key,))
                self.lines[path + (key,)] = knode.start_mark.line + 1
            return out
        return [self.build(v, path + (i,)) for i, v in enumerate(node.value)]

    def _substitute(self, text: str, line: int, path: tuple) -> str:
        def repl(m: re.Match[str]) -> str:
            name, default = m.group(1), m.group(2)
            if name in self.env:
                return self.env[name]
            if default is not None:
                return default
            self._issue(line, path, f"environment variable {name} is not set")
            return ""

        return ENV_RE.sub(repl, text)

    def _issue(self, line: int, path: tuple, msg: str) -> None:
        self.issues.append(ConfigIssue(self.file, line, format_path(path), msg))

    def line_of(self, path: tuple) -> int:
        """Line of the deepest known node on ``path`` (a missing key -> its parent)."""
        for n in range(len(path), -1, -1):
            if path[:n] in self.lines:
                return self.lines[path[:n]]
        return 1


def _pydantic_message(err: Mapping[str, Any]) -> str:
    kind = err.get("type", "")
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        return "unknown key"
    msg = str(err.get("msg", "invalid value"))
    # pydantic prefixes messages raised from our validators with this text
    msg = msg.removeprefix("Value error, ")
    return msg[:1].lower() + msg[1:]


def load_config(path: str | os.PathLike[str], env: Optional[Mapping[str, str]] = None) -> Config:
    """Parse and validate ``path``; raise :class:`ConfigError` listing every problem."""
    file = str(path)
    env = os.environ if env is None else env
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError([ConfigIssue(file, 0, "(file)", f"cannot read: {e.strerror}")]) from None
    except UnicodeDecodeError:
        raise ConfigError([ConfigIssue(file, 0, "(file)", "not UTF-8 text")]) from None
    return parse_config(text, file, env)


def parse_config(text: str, file: str = "<config>", env: Optional[Mapping[str, str]] = None) -> Config:
    env = os.environ if env is None else env
    tree = _Tree(file, env)
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
        line = mark.line + 1 if mark else 1
        problem = getattr(e, "problem", None) or "invalid YAML"
        raise ConfigError([ConfigIssue(file, line, "(yaml)", f"YAML syntax error: {problem}")]) from None
    except RecursionError:  # PyYAML composes nested collections recursively
        raise ConfigError([ConfigIssue(file, 1, "(yaml)", "nested too deeply")]) from None
    try:
        data = {} if node is None else tree.build(node)
    except _Unreadable as e:
        raise ConfigError([ConfigIssue(file, e.line, format_path(e.path), e.message)]) from None
    if not isinstance(data, dict):
        raise ConfigError([ConfigIssue(file, 1, "(top level)", "the config must be a mapping of keys")])
    issues = list(tree.issues)
    flagged = {i.path for i in issues}
    cfg = None
    try:
        cfg = Config.model_validate(data)
    except ValidationError as e:
        for err in e.errors(include_input=False, include_url=False):
            loc = tuple(err["loc"])
            msg = _pydantic_message(err)
            if format_path(loc) in flagged and msg != "unknown key":
                continue  # an unset ${VAR} already explains it
            issues.append(ConfigIssue(file, tree.line_of(loc), format_path(loc), msg))
    try:
        semantic = semantic_errors(data)
    except (TypeError, AttributeError, ValueError):
        # cross-checks over a mapping of the wrong shape: the shape errors above say
        # what is wrong; with a valid shape this would be a bug, so it is raised
        if not issues:
            raise
        semantic = []
    for p, m in semantic:
        if format_path(p) in flagged:
            continue
        issues.append(ConfigIssue(file, tree.line_of(p), format_path(p), m))
    if issues or cfg is None:
        raise ConfigError(sorted(issues, key=lambda i: i.line))
    return cfg
