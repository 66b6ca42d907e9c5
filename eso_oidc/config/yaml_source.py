"""Read an environment file as plain data, remembering the line of every key.

The file is parsed to a node tree with PyYAML's safe composer and converted here. Only mappings,
lists, strings, numbers, booleans and null come out of it. Python object tags, duplicate keys and
aliases are rejected, the last because a few nested aliases can expand to gigabytes.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from eso_oidc.errors import Problem, display_path

MAX_FILE_BYTES = 1024 * 1024

# Environment files nest about six levels deep, Helm values a few more. The limit keeps the
# recursive composer far from Python's recursion limit on hostile input such as `[[[[...]]]]`.
MAX_NESTING = 64

# Tags the YAML 1.1 core schema gives plain values. Any other tag would construct an object.
_SCALAR_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
}
_STANDARD_TAG_PREFIX = "tag:yaml.org,2002:"
_MAPPING_TAG = "tag:yaml.org,2002:map"
_SEQUENCE_TAG = "tag:yaml.org,2002:seq"

FieldPath = tuple[str | int, ...]


@dataclass
class Document:
    """An environment file's data, with the 1-based line of each field path."""

    path: Path
    data: Any
    lines: dict[FieldPath, int] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return display_path(self.path)

    def line_of(self, field_path: FieldPath) -> int:
        """Return the line of `field_path`, or of its nearest parent that has one."""
        for end in range(len(field_path), -1, -1):
            line = self.lines.get(tuple(field_path[:end]))
            if line:
                return line
        return 0

    def problem(self, field_path: FieldPath, message: str) -> Problem:
        return Problem(self.name, self.line_of(field_path), format_field_path(field_path), message)


_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def format_field_path(field_path: FieldPath) -> str:
    """Format `("aws", "paths", 0)` as `aws.paths[0]`, and keys with dots as `annotations["a.b/c"]`."""
    text = ""
    for part in field_path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif not _PLAIN_KEY.fullmatch(part):
            text += f"[{json.dumps(part)}]"
        else:
            text += f".{part}" if text else part
    return text


class _Rejected(Exception):
    def __init__(self, line: int, field_path: FieldPath, message: str):
        self.line = line
        self.field_path = field_path
        self.message = message


class _NodeConverter:
    def __init__(self) -> None:
        self.lines: dict[FieldPath, int] = {}
        self._constructor = yaml.SafeLoader("")

    def convert(self, node: yaml.Node, field_path: FieldPath) -> Any:
        line = node.start_mark.line + 1
        self.lines.setdefault(field_path, line)
        if isinstance(node, yaml.MappingNode):
            return self._convert_mapping(node, field_path)
        if isinstance(node, yaml.SequenceNode):
            if node.tag != _SEQUENCE_TAG:
                raise _Rejected(line, field_path, _tag_message(node.tag))
            return [self.convert(item, (*field_path, index)) for index, item in enumerate(node.value)]
        if node.tag not in _SCALAR_TAGS:
            raise _Rejected(line, field_path, _tag_message(node.tag))
        return self._constructor.construct_object(node, deep=True)

    def _convert_mapping(self, node: yaml.MappingNode, field_path: FieldPath) -> dict[str, Any]:
        line = node.start_mark.line + 1
        if node.tag != _MAPPING_TAG:
            raise _Rejected(line, field_path, _tag_message(node.tag))
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key_line = key_node.start_mark.line + 1
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise _Rejected(key_line, field_path, "merge keys (<<) are not supported; write the settings out")
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag not in _SCALAR_TAGS:
                raise _Rejected(key_line, field_path, "keys must be plain strings")
            key = key_node.value
            if key in result:
                first_line = self.lines[(*field_path, key)]
                raise _Rejected(
                    key_line, (*field_path, key), f"duplicate key, first set on line {first_line}; keep one of them"
                )
            self.lines[(*field_path, key)] = key_line
            result[key] = self.convert(value_node, (*field_path, key))
        return result


def _tag_message(tag: str) -> str:
    shown = "!!" + tag.removeprefix(_STANDARD_TAG_PREFIX) if tag.startswith(_STANDARD_TAG_PREFIX) else tag
    return f"the YAML tag {shown} is not allowed; environment files contain only plain values, lists and mappings"


class _NoAliasComposer(yaml.SafeLoader):
    _depth = 0

    def compose_node(self, parent, index):  # type: ignore[no-untyped-def]
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise _Rejected(
                event.start_mark.line + 1,
                (),
                f"YAML alias *{event.anchor} is not supported; write the value out in full",
            )
        if self._depth >= MAX_NESTING:
            raise _Rejected(
                self.peek_event().start_mark.line + 1,
                (),
                f"values are nested more than {MAX_NESTING} levels deep; an environment file needs far fewer",
            )
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def read_document(path: Path) -> Document | Problem:
    """Read one environment file, or return the single problem that stops it from being read."""
    name = display_path(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return Problem(name, 0, "", f"file is {size} bytes, over the limit of {MAX_FILE_BYTES}; is it an environment file?")
        raw = path.read_bytes()
    except OSError as error:
        return Problem(name, 0, "", f"cannot be read: {error.strerror or error}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        return Problem(name, line, "", f"the file is not valid UTF-8 (byte 0x{raw[error.start]:02x}); save it as UTF-8")
    return parse_document(path, text)


def parse_document(path: Path, text: str) -> Document | Problem:
    name = display_path(path)
    try:
        # The reader checks the characters as the loader is created, so that is inside the try too.
        loader = _NoAliasComposer(text)
    except yaml.reader.ReaderError as error:
        return _reader_problem(name, text, error)
    try:
        root = loader.get_single_node()
        converter = _NodeConverter()
        data = None if root is None else converter.convert(root, ())
    except _Rejected as rejected:
        return Problem(name, rejected.line, format_field_path(rejected.field_path), rejected.message)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else 0
        return Problem(name, line, "", f"invalid YAML: {_yaml_error_detail(error)}")
    except yaml.reader.ReaderError as error:
        return _reader_problem(name, text, error)
    except yaml.YAMLError as error:
        return Problem(name, 0, "", f"invalid YAML: {error}")
    finally:
        loader.dispose()
    if data is None:
        return Problem(name, 1, "", "file is empty; an environment file starts with `cloud: aws`, `azure` or `gcp`")
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else "a single value"
        return Problem(name, 1, "", f"the file contains {kind}; an environment file is a mapping of settings such as `cloud: aws`")
    return Document(path=path, data=data, lines=converter.lines)


def _yaml_error_detail(error: yaml.MarkedYAMLError) -> str:
    """Word a PyYAML error as one phrase, with a hint for the mistakes it words obscurely."""
    problem = error.problem or ""
    if problem.startswith("but ") and error.context:
        # "expected a single document in the stream" + "but found another document"
        problem = f"{error.context}, {problem}"
    detail = problem or error.context or "cannot be parsed"
    if problem and error.context and error.context.startswith("while ") and error.context_mark is not None:
        detail += f" ({error.context} that started on line {error.context_mark.line + 1})"
    if "found another document" in detail:
        return f"{detail}; an environment file holds one document, so remove the `---` line"
    if "'\\t'" in detail:
        return f"{detail}; indent with spaces, not tabs"
    return detail


def _reader_problem(name: str, text: str, error: yaml.reader.ReaderError) -> Problem:
    line = text[: error.position].count("\n") + 1
    character = error.character if isinstance(error.character, int) else ord(str(error.character)[:1] or "?")
    return Problem(name, line, "", f"invalid YAML: the control character U+{character:04X} is not allowed; remove it")


def yaml_text(value: Any) -> str:
    """Return `value` as YAML spells it (`true`, `null`, `'text'`), for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return "a mapping" if isinstance(value, dict) else "a list"
    return repr(value)
