"""Parse the API reference markdown into entries the generated suite checks.

The reference is a sequence of ``## Section`` headings, each with
``### `Name``` entries. An entry may hold Python blocks (import statements or
examples), a parameter table, a "Key methods" table, an attribute table, a
"Key attributes" line, a header-builder table and a configuration table. The
parser recognises each table by its header row, so the reference stays plain
markdown that people edit without knowing about the suite.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "AttributeDoc",
    "ConfigDoc",
    "Entry",
    "HeaderBuilderDoc",
    "MethodDoc",
    "ParamDoc",
    "Reference",
    "parse_reference",
]

_CODE_SPAN = re.compile(r"`([^`]*)`")
_SAME_PARAMETERS = re.compile(r"^Same parameters as `([^`]+)`")
_ESCAPED_PIPE = "\x00"


@dataclass(frozen=True)
class ParamDoc:
    """A row of a ``| Parameter | Type | Default | Description |`` table."""

    name: str
    type: str
    default: str
    """The documented default, as written (``required``, ``None``, ``"inmemory"``, ``3``...)."""

    @property
    def required(self) -> bool:
        """Whether the reference says the parameter has no default."""
        return self.default == "required"


@dataclass(frozen=True)
class MethodDoc:
    """A row of a ``| Method | Description |`` table, e.g. ``await hit(request, cost=None)``."""

    name: str
    awaitable: bool
    callable: bool
    """``False`` for a property row written without parentheses (``is_disabled``)."""
    keyword_defaults: tuple[tuple[str, str], ...]
    """``name=default`` pairs written in the call, as source text."""


@dataclass(frozen=True)
class AttributeDoc:
    """A documented attribute; ``type`` is empty where the reference gives none."""

    name: str
    type: str = ""


@dataclass(frozen=True)
class HeaderBuilderDoc:
    """A row of the ``| Builder | Header value |`` table: ``Header.LIMIT`` makes ``X-RateLimit-Limit``."""

    builder: str
    header: str


@dataclass(frozen=True)
class ConfigDoc:
    """A row of the ``| Function | Env var | Default | Description |`` table."""

    getter: str
    setter: str
    env_var: str
    default: str


@dataclass
class Entry:
    """One ``### `Name``` entry of a section."""

    name: str
    section: str
    imports: list[str] = field(default_factory=list)
    """Each documented import statement, as source."""
    examples: list[str] = field(default_factory=list)
    """Python blocks that are not only imports, in order."""
    params: list[ParamDoc] = field(default_factory=list)
    methods: list[MethodDoc] = field(default_factory=list)
    attributes: list[AttributeDoc] = field(default_factory=list)
    header_builders: list[HeaderBuilderDoc] = field(default_factory=list)
    config: list[ConfigDoc] = field(default_factory=list)


@dataclass
class Reference:
    """The parsed reference: entries in document order."""

    path: Path
    entries: list[Entry]

    def entry(self, name: str) -> Entry:
        """The entry called ``name`` (``KeyError`` if the reference has none)."""
        for entry in self.entries:
            if entry.name == name:
                return entry
        raise KeyError(name)

    @property
    def sections(self) -> list[str]:
        """Section titles in document order, without repeats."""
        return list(dict.fromkeys(entry.section for entry in self.entries))


def _cells(line: str) -> list[str]:
    # `\|` inside a cell is a literal pipe (union types), not a column separator.
    row = line.strip().replace("\\|", _ESCAPED_PIPE).strip("|")
    return [cell.strip().replace(_ESCAPED_PIPE, "|") for cell in row.split("|")]


def _code(cell: str) -> str:
    """The first code span of ``cell`` (the whole cell if it has none)."""
    match = _CODE_SPAN.search(cell)
    return match.group(1).strip() if match else cell.strip()


def _split_imports(source: str) -> list[str] | None:
    """Each import statement of ``source``, or ``None`` if it holds anything else."""
    tree = ast.parse(source)
    if not tree.body or not all(isinstance(node, (ast.Import, ast.ImportFrom)) for node in tree.body):
        return None
    return [ast.unparse(node) for node in tree.body]


def _method(cell: str) -> MethodDoc:
    text = _code(cell)
    awaitable = text.startswith("await ")
    if awaitable:
        text = text[len("await ") :].strip()
    name, paren, rest = text.partition("(")
    keywords: list[tuple[str, str]] = []
    if paren:
        for argument in rest.rstrip(")").split(","):
            key, eq, value = argument.partition("=")
            if eq:
                keywords.append((key.strip(), value.strip()))
    return MethodDoc(name.strip(), awaitable, bool(paren), tuple(keywords))


def _config(cells: list[str]) -> ConfigDoc:
    functions = [name.split("(")[0].strip() for name in _CODE_SPAN.findall(cells[0])]
    getter = next(name for name in functions if name.startswith("get_"))
    setter = next(name for name in functions if name.startswith("set_"))
    return ConfigDoc(getter, setter, _code(cells[1]), _code(cells[2]))


def _table(lines: list[str], start: int) -> tuple[list[str], list[list[str]], int]:
    """The header cells and body rows of the table starting at ``lines[start]``, and the index after it."""
    header = _cells(lines[start])
    index = start + 2  # skip the |---| separator
    rows = []
    while index < len(lines) and lines[index].lstrip().startswith("|"):
        rows.append(_cells(lines[index]))
        index += 1
    return header, rows, index


def _add_table(entry: Entry, header: list[str], rows: list[list[str]]) -> None:
    kind = [cell.lower() for cell in header]
    if kind[:3] == ["parameter", "type", "default"]:
        entry.params.extend(ParamDoc(_code(row[0]), _code(row[1]), _code(row[2])) for row in rows)
    elif kind[:1] == ["method"]:
        entry.methods.extend(_method(row[0]) for row in rows)
    elif kind[:2] == ["attribute", "type"]:
        entry.attributes.extend(AttributeDoc(_code(row[0]), _code(row[1])) for row in rows)
    elif kind[:2] == ["builder", "header value"]:
        for row in rows:
            builder = _code(row[0]).split("(")[0]
            entry.header_builders.append(HeaderBuilderDoc(builder, _code(row[1])))
    elif kind[:2] == ["function", "env var"]:
        entry.config.extend(_config(row) for row in rows)
    else:
        raise ValueError(f"unrecognised table in entry {entry.name!r}: header {header!r}")


def parse_reference(path: str | Path) -> Reference:
    """Parse the reference at ``path``.

    Args:
        path: The markdown file (``spec/api-reference.md``).

    Returns:
        Its entries, in document order.

    Raises:
        ValueError: A table whose header row the parser does not know, so a new
            kind of documentation cannot be silently left unchecked.

    Example:
        >>> import pathlib, tempfile
        >>> text = "## Rate\\n\\n### `Rate`\\n\\n```python\\nfrom traffik import Rate\\n```\\n"
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     file = pathlib.Path(folder, "ref.md")
        ...     _ = file.write_text(text)
        ...     parse_reference(file).entry("Rate").imports
        ['from traffik import Rate']
    """
    path = Path(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    entries: list[Entry] = []
    section = ""
    entry: Entry | None = None
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.startswith("## "):
            section = line[3:].strip()
            entry = None
        elif line.startswith("### "):
            entry = Entry(_code(line[4:]), section)
            entries.append(entry)
        elif not section:
            pass  # the introduction above the first section documents no API
        elif entry is not None and (same := _SAME_PARAMETERS.match(line)):
            # "Same parameters as `ThrottleRule`": the entry promises that table too.
            entry.params.extend(_entry_named(entries, same.group(1)).params)
        elif line.startswith(("```python", "**Key attributes:**")) or line.lstrip().startswith("|"):
            if entry is None:
                # Content right under a section heading (Configuration) is an entry named after the section.
                entry = Entry(section, section)
                entries.append(entry)
            index = _read_block(lines, index, entry)
            continue
        index += 1
    return Reference(path, entries)


def _entry_named(entries: list[Entry], name: str) -> Entry:
    for entry in entries:
        if entry.name == name:
            return entry
    raise ValueError(f"'Same parameters as `{name}`' refers to no earlier entry")


def _read_block(lines: list[str], index: int, entry: Entry) -> int:
    """Add the code block, table or attribute line at ``lines[index]`` to ``entry``; return the next index."""
    line = lines[index]
    if line.startswith("```python"):
        end = lines.index("```", index + 1)
        source = "\n".join(lines[index + 1 : end])
        imports = _split_imports(source)
        if imports is None:
            entry.examples.append(source)
        else:
            entry.imports.extend(imports)
        return end + 1
    if line.lstrip().startswith("|"):
        header, rows, after = _table(lines, index)
        _add_table(entry, header, rows)
        return after
    entry.attributes.extend(AttributeDoc(name) for name in _CODE_SPAN.findall(line.partition("**Key attributes:**")[2]))
    return index + 1
