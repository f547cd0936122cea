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


def format_path(path: tuple) -> str:
    out = ""
    for p in path:
        if isinstance(p, int):
            out += f"[{p}]"
        else:
            out += ("." if out else "") + str(p)
    return out or "(top level)"


class _Tree:
    """YAML node tree -> Python data, with a line number per path."""

    def __init__(self, file: str, env: Mapping[str, str]):
        self.file = file
        self.env = env
        self.lines: dict[tuple, int] = {}
        self.issues: list[ConfigIssue] = []
        self._scalar = yaml.constructor.SafeConstructor()

    def build(self, node: yaml.Node, path: tuple = ()) -> Any:
        self.lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            for knode, vnode in node.value:
                key = self._scalar.construct_object(knode) if isinstance(knode, yaml.ScalarNode) else None
                if not isinstance(key, (str, int)) or isinstance(key, bool):
                    self._issue(knode.start_mark.line + 1, path, "keys must be plain names")
                    continue
                if key in out:
                    self._issue(knode.start_mark.line + 1, path + (key,), "key given twice")
                out[key] = self.build(vnode, path + (key,))
                self.lines[path + (key,)] = knode.start_mark.line + 1
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(v, path + (i,)) for i, v in enumerate(node.value)]
        value = self._scalar.construct_object(node)
        if isinstance(value, str) and "${" in value:
            value = self._substitute(value, node.start_mark.line + 1, path)
        return value

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
    data = {} if node is None else tree.build(node)
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
    for p, m in semantic_errors(data):
        if format_path(p) in flagged:
            continue
        issues.append(ConfigIssue(file, tree.line_of(p), format_path(p), m))
    if issues or cfg is None:
        raise ConfigError(sorted(issues, key=lambda i: i.line))
    return cfg
