"""Where a field path (`rules[2].benefit.percent`) is in a YAML or JSON document: its line.

The rule-set validators name fields by path; the console shows each error next to the line
it is about. YAML's composer keeps every node's position (JSON is YAML), so the path is
walked over the node tree; a path that does not resolve stops at its deepest known part.
"""

from __future__ import annotations

import re

import yaml

_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def line_of(document: str, path: str) -> int | None:
    """1-based line of `path` in `document`, or None when the document does not parse."""
    try:
        node = yaml.compose(document, Loader=yaml.SafeLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        return int(mark.line) + 1 if mark is not None else None
    if node is None:
        return None
    line = int(node.start_mark.line) + 1
    for key, index in _PART.findall(path):
        child = None
        if index and isinstance(node, yaml.SequenceNode):
            i = int(index)
            child = node.value[i] if i < len(node.value) else None
        elif key and isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if isinstance(k, yaml.ScalarNode) and k.value == key:
                    line = int(k.start_mark.line) + 1
                    child = v
                    break
        if child is None:
            break
        node = child
        line = max(line, int(node.start_mark.line) + 1) if not isinstance(
            node, yaml.MappingNode | yaml.SequenceNode) else int(node.start_mark.line) + 1
    return line
