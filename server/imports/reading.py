"""Reading source files: UTF-8 or windows-1251 (auto-detected, BOM handled), CSV rows.

Files stream line by line, so memory stays flat however large the file is. A line that is
not valid in the detected encoding is reported on its row instead of stopping the file.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

SAMPLE = 1 << 20  # bytes looked at to choose the encoding
BOM = codecs.BOM_UTF8


def detect_encoding(head: bytes) -> str:
    """'utf-8-sig' with a BOM, 'utf-8' when the sample decodes as UTF-8, else 'cp1251'."""
    if head.startswith(BOM):
        return "utf-8-sig"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return "cp1251"
    return "utf-8"


@dataclass(slots=True)
class SourceRow:
    """One data row: its number in the file (header is row 1), its fields by column name,
    and why it cannot be read (an encoding error), if so."""

    number: int
    fields: dict[str, str]
    problem: tuple[str, str] | None = None


class _Lines:
    """Decoded lines of a binary stream; remembers whether a line needed replacement."""

    def __init__(self, stream: BinaryIO, encoding: str) -> None:
        self._stream = stream
        self._encoding = encoding
        self.bad = False
        self.first = True

    def __iter__(self) -> Iterator[str]:
        for raw in self._stream:
            if self.first:
                self.first = False
                if raw.startswith(BOM):
                    raw = raw[len(BOM):]
            try:
                yield raw.decode("utf-8" if self._encoding == "utf-8-sig" else self._encoding)
            except UnicodeDecodeError:
                self.bad = True
                yield raw.decode(self._encoding.replace("-sig", ""), errors="replace")


def csv_rows(path: Path, encoding: str | None = None) -> Iterator[SourceRow]:
    """The rows of a CSV file with a header line (`,` or `;` separated, detected)."""
    with path.open("rb") as stream:
        head = stream.read(SAMPLE)
        stream.seek(0)
        chosen = encoding or detect_encoding(head)
        first_line = head.split(b"\n", 1)[0]
        delimiter = ";" if first_line.count(b";") > first_line.count(b",") else ","
        lines = _Lines(stream, chosen)
        reader = csv.reader(lines, delimiter=delimiter)
        header = [name.strip().lower() for name in next(reader, [])]
        for values in reader:
            number = reader.line_num
            if not values or values == [""]:
                lines.bad = False
                continue
            problem = None
            if lines.bad:
                what = "UTF-8" if chosen.startswith("utf-8") else chosen
                problem = ("(encoding)", f"not valid {what}; save the file as UTF-8 "
                           "or windows-1251")
                lines.bad = False
            elif len(values) != len(header):
                problem = ("(columns)", f"{len(values)} values for {len(header)} columns")
            yield SourceRow(number, dict(zip(header, values, strict=False)), problem)


def read_header(path: Path) -> list[str]:
    """The lower-cased column names of a CSV file's first line."""
    with path.open("rb") as stream:
        head = stream.read(SAMPLE)
    first = head.split(b"\n", 1)[0].rstrip(b"\r")
    if first.startswith(BOM):
        first = first[len(BOM):]
    text = first.decode(detect_encoding(head).replace("-sig", ""), errors="replace")
    delimiter = ";" if text.count(";") > text.count(",") else ","
    return [name.strip().lower() for name in next(csv.reader([text], delimiter=delimiter), [])]


class Utf8Blocks:
    """A file's bytes as UTF-8 blocks for COPY: decoded once (the encoding detected on the
    first block), a BOM dropped; bytes the encoding cannot read become U+FFFD, which marks
    their rows as refused (`replaced` says whether any were)."""

    BLOCK = 1 << 20

    def __init__(self, path: Path) -> None:
        self.path = path
        with path.open("rb") as stream:
            head = stream.read(SAMPLE)
        self.encoding = detect_encoding(head)
        first = head.split(b"\n", 1)[0]
        self.delimiter = ";" if first.count(b";") > first.count(b",") else ","
        self.replaced = False

    def __iter__(self) -> Iterator[bytes]:
        decoder = codecs.getincrementaldecoder(self.encoding)(errors="replace")
        with self.path.open("rb") as stream:
            while block := stream.read(self.BLOCK):
                text = decoder.decode(block)
                self.replaced = self.replaced or "\ufffd" in text
                yield text.encode("utf-8")
            tail = decoder.decode(b"", final=True)
            self.replaced = self.replaced or "\ufffd" in tail
            if tail:
                yield tail.encode("utf-8")

    def problem(self) -> str | None:
        """The reason given to rows with replaced bytes, if there were any."""
        if not self.replaced:
            return None
        what = "UTF-8" if self.encoding.startswith("utf-8") else self.encoding
        return f"not valid {what}; save the file as UTF-8 or windows-1251"
