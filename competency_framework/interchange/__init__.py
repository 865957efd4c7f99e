"""Import and export of frameworks: Moodle competency CSV, 1EdTech CASE v1.0 JSON, xlsx.

Every import reads the whole file into a ``FrameworkDocument``, validates all of it, and
only then inserts a new draft version: a bad file changes nothing and raises
``InterchangeError`` naming the row/column (or JSON path) and the problem.
"""

from __future__ import annotations

import enum
import io
import os
from dataclasses import dataclass, field
from typing import BinaryIO, Callable, Union

from sqlalchemy import select
from sqlalchemy.orm import Session

from competency_framework.interchange.document import (
    DEFAULT_LIMITS,
    FrameworkDocument,
    InterchangeError,
    Limits,
    Location,
    Progress,
    apply_document,
    document_from_framework,
    fail,
    validate_document,
)
from competency_framework.models import Framework, FrameworkStatus, Scale

Source = Union[bytes, bytearray, memoryview, str, "os.PathLike[str]", BinaryIO]


class Format(str, enum.Enum):
    MOODLE = "moodle"
    CASE = "case"
    XLSX = "xlsx"


EXTENSIONS = {Format.MOODLE: ".csv", Format.CASE: ".json", Format.XLSX: ".xlsx"}
MEDIA_TYPES = {Format.MOODLE: "text/csv", Format.CASE: "application/json",
               Format.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


class UnknownFormatError(InterchangeError):
    def __init__(self) -> None:
        super().__init__([(Location(), "unknown file format: expected a Moodle competency CSV, "
                                       "a CASE JSON package or an xlsx workbook")])


def _read_bytes(source: Source, limit: int) -> bytes:
    """The file's bytes, refusing more than ``limit`` without reading everything first."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    elif isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as handle:
            data = handle.read(limit + 1)
    else:
        data = source.read(limit + 1)
    if len(data) > limit:
        raise fail(Location(), f"the file is larger than {limit // (1024 * 1024)} MB")
    return data


def detect_format(source: Source) -> Format:
    """Which format a file is in, from its content (not its name)."""
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as handle:
            head = handle.read(65536)
    elif isinstance(source, (bytes, bytearray, memoryview)):
        head = bytes(source[:65536])
    else:
        position = source.tell()
        head = source.read(65536)
        source.seek(position)
    if head.startswith(b"PK\x03\x04"):
        return Format.XLSX
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if text.startswith(b"{"):
        if b'"CFDocument"' in head or b'"CFItems"' in head:
            return Format.CASE
        raise UnknownFormatError()
    import csv

    first = text.decode("utf-8", errors="replace").split("\n", 1)[0]
    for delimiter in (",", ";", "\t", ":"):
        try:
            if len(next(csv.reader(io.StringIO(first), delimiter=delimiter))) == 14:
                return Format.MOODLE
        except (csv.Error, StopIteration):
            continue
    raise UnknownFormatError()


def read_document(source: Source, format: Format | str | None = None, *, encoding: str = "utf-8",
                  limits: Limits = DEFAULT_LIMITS, scale_levels: int | None = None) -> FrameworkDocument:
    """Parse and validate a file without touching the database (a dry run for the CLI)."""
    data = _read_bytes(source, limits.max_bytes)
    kind = Format(format) if format is not None else detect_format(data)
    if kind is Format.MOODLE:
        from competency_framework.interchange import moodle_csv
        doc = moodle_csv.read(data, encoding=encoding, limits=limits)
    elif kind is Format.CASE:
        from competency_framework.interchange import case_json
        doc = case_json.read(data, limits=limits)
    else:
        from competency_framework.interchange import xlsx
        doc = xlsx.read(data, limits=limits)
    return validate_document(doc, limits=limits, scale_levels=scale_levels)


@dataclass
class ImportReport:
    framework: Framework
    format: Format
    nodes: int
    role_profiles: int
    links: int
    warnings: list[str] = field(default_factory=list)


def import_framework(session: Session, source: Source, *, format: Format | str | None = None,
                     scale_code: str | None = None, encoding: str = "utf-8", limits: Limits = DEFAULT_LIMITS,
                     progress: Progress | None = None, after_batch: Callable[[], None] | None = None,
                     created: Callable[[Framework], None] | None = None) -> ImportReport:
    """Import a file as a new draft version (version 1 for a new code, else the next one).

    ``scale_code`` names an existing scale for files that bring none (CASE packages
    without a rubric). Nothing is added to the session unless the whole file is valid.
    With ``after_batch`` (called after each batch of inserts, e.g. to commit) the version
    is written as ``PENDING`` (hidden) and ``created`` is told it as soon as it exists.
    """
    data = _read_bytes(source, limits.max_bytes)
    kind = Format(format) if format is not None else detect_format(data)
    scale = None
    if scale_code is not None:
        scale = session.scalar(select(Scale).where(Scale.code == scale_code))
        if scale is None:
            raise fail(Location(), f"no scale with code {scale_code!r}")
    scale_levels = None if scale is None else len(scale.levels)
    if after_batch is not None:
        after_batch()  # parsing a big file takes seconds: not while holding the write lock
    doc = read_document(data, kind, encoding=encoding, limits=limits, scale_levels=scale_levels)
    framework = apply_document(session, doc, scale=scale, progress=progress, after_batch=after_batch,
                               created=created,
                               status=FrameworkStatus.DRAFT if after_batch is None else FrameworkStatus.PENDING)
    return ImportReport(framework, kind, len(doc.nodes), len(doc.role_profiles), len(doc.links), doc.warnings)


def export_framework(framework: Framework, format: Format | str, *, progress: Progress | None = None) -> bytes:
    """The framework in a format, as bytes (``EXTENSIONS`` and ``MEDIA_TYPES`` name the file)."""
    kind = Format(format)
    doc = document_from_framework(framework)
    if kind is Format.MOODLE:
        from competency_framework.interchange import moodle_csv
        return moodle_csv.write(doc, progress=progress)
    if kind is Format.CASE:
        from competency_framework.interchange import case_json
        return case_json.write(doc, status=framework.status, progress=progress)
    from competency_framework.interchange import xlsx
    return xlsx.write(doc, progress=progress)


__all__ = [
    "DEFAULT_LIMITS", "EXTENSIONS", "Format", "FrameworkDocument", "ImportReport", "InterchangeError", "Limits",
    "Location", "MEDIA_TYPES", "UnknownFormatError", "detect_format", "document_from_framework", "export_framework",
    "import_framework", "read_document", "validate_document",
]
