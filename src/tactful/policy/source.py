"""Reading policy YAML while keeping line numbers, and hashing its canonical form.

PyYAML's ``compose`` gives a node tree with marks; we index every mapping key and sequence item by
its path (``("rules", 3, "when")``) so schema and CEL errors can name the line a human must edit.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from tactful.errors import PolicyError

Path = tuple[str | int, ...]

#: Bigger than any sane policy; a guard against a tenant uploading a huge document.
MAX_SOURCE_CHARS = 1_000_000
#: Nodes visited after alias expansion; stops "billion laughs" documents before they expand.
MAX_NODES = 200_000


@dataclass(frozen=True, slots=True)
class ParsedSource:
    data: Any
    lines: dict[Path, int]  # 1-based line of each key / item

    def line_for(self, loc: Sequence[str | int]) -> int | None:
        """The line of the deepest indexed prefix of ``loc``.

        Elements that are not in the document (pydantic's union tags, ``[key]`` markers) are skipped.
        """
        path: Path = ()
        for element in loc:
            candidate = (*path, element)
            if candidate in self.lines:
                path = candidate
        return self.lines.get(path)


def parse_source(source: str, source_name: str) -> ParsedSource:
    if len(source) > MAX_SOURCE_CHARS:
        raise PolicyError(f"policy is larger than {MAX_SOURCE_CHARS} characters", source=source_name)
    try:
        loader = yaml.SafeLoader(source)  # rejects non-printable characters already
    except yaml.YAMLError as exc:
        raise PolicyError(f"YAML error: {exc}", source=source_name) from exc
    try:
        node = loader.get_single_node()
        if node is None:
            raise PolicyError("policy is empty", source=source_name, line=1)
        lines: dict[Path, int] = {}
        _index(node, (), lines, source_name, [0])
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = " ".join(p for p in (exc.context, exc.problem) if p) or str(exc)
        start = exc.context_mark
        if start is not None and line is not None and start.line + 1 != line:
            # An unclosed bracket is only noticed later; say where the construct began.
            problem += f" (the construct started at line {start.line + 1})"
        raise PolicyError(f"YAML syntax error: {problem}", source=source_name, line=line) from exc
    except yaml.YAMLError as exc:
        raise PolicyError(f"YAML error: {exc}", source=source_name) from exc
    finally:
        loader.dispose()
    return ParsedSource(data=data, lines=lines)


def _index(node: yaml.Node, path: Path, lines: dict[Path, int], source_name: str, count: list[int]) -> None:
    count[0] += 1
    if count[0] > MAX_NODES:
        raise PolicyError(f"policy has more than {MAX_NODES} nodes after alias expansion", source=source_name)
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                continue
            key = str(key_node.value)
            line = key_node.start_mark.line + 1
            if key == "<<":  # a merge key: its contents are indexed under this mapping's path
                _index(value_node, path, lines, source_name, count)
                continue
            if key in seen:
                raise PolicyError(
                    f"duplicate key {key!r} (first at line {seen[key]})", source=source_name, line=line
                )
            seen[key] = line
            lines[(*path, key)] = line
            _index(value_node, (*path, key), lines, source_name, count)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines[(*path, i)] = item.start_mark.line + 1
            _index(item, (*path, i), lines, source_name, count)


def canonical_json(data: Any) -> str:
    """Key-sorted compact JSON of parsed YAML; YAML-only types (dates, non-string keys) become strings."""
    return json.dumps(
        _stringify_keys(data), sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )


def _stringify_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _stringify_keys(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_stringify_keys(v) for v in value]
    return value


def content_hash(source: str) -> str:
    """sha256 hex of the canonical form: whitespace-, comment- and key-order-only edits hash the same."""
    parsed = parse_source(source, "<policy>")
    return hashlib.sha256(canonical_json(parsed.data).encode("utf-8")).hexdigest()
