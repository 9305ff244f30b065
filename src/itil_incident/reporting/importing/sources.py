"""Where records come from: CSV (plain, gzip or a zip member), XES (plain or gzip), memory.

A source is opened once per import (:meth:`EventSource.open`) and streams :data:`Record`
values, ``(row number, {column: text})``, in file order; a row it cannot read comes as a
:class:`~.report.RowError` in its place. Nothing is loaded whole: CSV goes through
:mod:`csv`, XES through :func:`xml.etree.ElementTree.iterparse`, one trace at a time.

Progress is reported to an optional callback ``progress(done, total)`` every few thousand
records and once at the end, in bytes of the input read (compressed bytes for gzip, the
member's bytes for a zip) for files, and in records for memory sources.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sized
from pathlib import Path
from typing import TYPE_CHECKING, Protocol
from xml.etree import ElementTree

from itil_incident.reporting.importing.report import ImportSourceError, RowError

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

__all__ = [
    "CsvSource",
    "EventSource",
    "MemorySource",
    "Progress",
    "Record",
    "RecordStream",
    "XesSource",
]

#: ``progress(done, total)``: units done so far and the total when known.
Progress = Callable[[int, int | None], None]
#: A row number (see :class:`~.report.RowError`) and the row's values by column.
Record = tuple[int, Mapping[str, str]]

_EVERY = 4096  # records between two progress calls
#: What a truncated or corrupt file raises while it is read.
_BROKEN = (OSError, EOFError, zlib.error, zipfile.BadZipFile)


class RecordStream(Protocol):
    """An open source: iterate it for records; ``columns`` is the header, when there is one."""

    columns: tuple[str, ...] | None

    def __iter__(self) -> Iterator[Record | RowError]: ...

    def close(self) -> None: ...


class EventSource(Protocol):
    """Anything an import can read: a ``name`` for reports and an :meth:`open` method."""

    @property
    def name(self) -> str: ...

    def open(self, progress: Progress | None = None) -> RecordStream:
        """Open the source (reading a header, if any); raise ImportSourceError if it cannot."""
        ...


class _Closable(Protocol):
    def close(self) -> None: ...


class _Readable(_Closable, Protocol):
    def read(self, size: int, /) -> bytes: ...


class _Counting(io.RawIOBase):
    """A raw stream over ``inner`` that counts the bytes read through it (for progress) and
    closes ``inner`` and ``also`` when closed. With ``counter``, the count is that counter's
    (the compressed bytes under a decompressor)."""

    def __init__(self, inner: _Readable, *also: _Closable,
                 counter: _Counting | None = None) -> None:
        self._inner = inner
        self._also = also
        self._counter = counter
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        data = self._inner.read(len(view))
        size = len(data)
        view[:size] = data
        self.count = self._counter.count if self._counter is not None else self.count + size
        return size

    def close(self) -> None:
        if not self.closed:
            self._inner.close()
            for other in self._also:
                other.close()
        super().close()


def _open_binary(path: Path, member: str | None) -> tuple[_Counting, int]:
    """The counted byte stream of ``path`` (a zip member, gunzipped or plain) and its total
    size for progress."""
    try:
        if zipfile.is_zipfile(path):
            archive = zipfile.ZipFile(path)
            try:
                info = archive.getinfo(member) if member else _only_csv(archive, path)
                return _Counting(archive.open(info), archive), info.file_size
            except BaseException:
                archive.close()
                raise
        total = os.path.getsize(path)
        raw = _Counting(open(path, "rb"))  # noqa: SIM115  # closed by the stream that wraps it
        if path.suffix == ".gz":
            unzipped = gzip.GzipFile(fileobj=io.BufferedReader(raw), mode="rb")
            return _Counting(unzipped, raw, counter=raw), total
        return raw, total
    except (OSError, KeyError, zipfile.BadZipFile) as exc:
        raise ImportSourceError(f"cannot read {path}: {exc}") from None


def _only_csv(archive: zipfile.ZipFile, path: Path) -> zipfile.ZipInfo:
    members = [
        info for info in archive.infolist()
        if info.filename.lower().endswith(".csv") and not info.filename.startswith("__MACOSX/")
    ]
    if len(members) != 1:
        names = ", ".join(info.filename for info in members) or "none"
        raise ImportSourceError(f"{path}: expected one CSV member, found {names}; "
                                "name the member")
    return members[0]


class CsvSource:
    """A CSV file with a header row: plain, ``.gz``, or a member of a zip archive.

    ``member`` names the zip member (default: the archive's only ``.csv`` outside
    ``__MACOSX/``). ``encoding`` defaults to UTF-8 with an optional byte-order mark;
    undecodable bytes become U+FFFD. A row with more or fewer fields than the header is a
    skipped :class:`~.report.RowError`.
    """

    def __init__(self, path: str | os.PathLike[str], *, member: str | None = None,
                 delimiter: str = ",", encoding: str = "utf-8-sig") -> None:
        self.path = Path(path)
        self.member = member
        self.delimiter = delimiter
        self.encoding = encoding

    @property
    def name(self) -> str:
        return self.path.name if self.member is None else f"{self.path.name}:{self.member}"

    def open(self, progress: Progress | None = None) -> RecordStream:
        return _CsvStream(self, progress)


class _CsvStream:
    def __init__(self, source: CsvSource, progress: Progress | None) -> None:
        self._name = source.name
        raw, self._total = _open_binary(source.path, source.member)
        self._raw = raw
        self._text = io.TextIOWrapper(io.BufferedReader(raw, 1 << 16), encoding=source.encoding,
                                      errors="replace", newline="")
        self._reader = csv.reader(self._text, delimiter=source.delimiter)
        self._progress = progress
        try:
            header = next(self._reader)
        except StopIteration:
            header = []
        except (csv.Error, *_BROKEN) as exc:
            self.close()
            raise ImportSourceError(f"{source.name}: unreadable header: {exc}") from None
        self.columns: tuple[str, ...] | None = tuple(name.strip() for name in header)

    def __iter__(self) -> Iterator[Record | RowError]:
        reader, header = self._reader, self.columns or ()
        width = len(header)
        line = reader.line_num
        count = 0
        try:
            while True:
                try:
                    row = next(reader)
                except StopIteration:
                    break
                except csv.Error as exc:
                    yield RowError(line + 1, f"malformed CSV: {exc}")
                    line = reader.line_num
                    continue
                start, line = line + 1, reader.line_num
                count += 1
                if count % _EVERY == 0 and self._progress is not None:
                    self._progress(self._raw.count, self._total)
                if len(row) != width:
                    if not row:
                        continue  # a blank line
                    yield RowError(start, f"{len(row)} fields where the header has {width}",
                                   case=row[0] if row else None)
                    continue
                yield start, dict(zip(header, row, strict=True))
            if self._progress is not None:
                self._progress(self._total, self._total)
        except _BROKEN as exc:
            raise ImportSourceError(f"{self._name}: {exc}") from None
        finally:
            self.close()

    def close(self) -> None:
        self._text.close()


class XesSource:
    """An XES event log (plain or ``.gz``), read one trace at a time.

    Each event becomes a record of its attributes by key (``concept:name``,
    ``time:timestamp``, ...) plus its trace's attributes prefixed ``case:`` (the case id is
    ``case:concept:name``), as pm4py names them. Nested attributes and the log's global
    defaults are not read. Broken XML raises :class:`~.report.ImportSourceError`.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    @property
    def name(self) -> str:
        return self.path.name

    def open(self, progress: Progress | None = None) -> RecordStream:
        return _XesStream(self, progress)


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _attributes(element: ElementTree.Element, prefix: str) -> dict[str, str]:
    """The direct key/value attributes of a trace or an event (not its events, not nested)."""
    return {
        prefix + key: child.get("value", "")
        for child in element
        if (key := child.get("key")) is not None
    }


class _XesStream:
    columns: tuple[str, ...] | None = None

    def __init__(self, source: XesSource, progress: Progress | None) -> None:
        self._name = source.name
        self._raw, self._total = _open_binary(source.path, None)
        self._progress = progress

    def __iter__(self) -> Iterator[Record | RowError]:
        number = 0
        events: list[dict[str, str]] = []
        try:
            root: ElementTree.Element | None = None
            for kind, element in ElementTree.iterparse(self._raw, events=("start", "end")):
                if root is None:
                    root = element
                if kind == "start":
                    continue
                tag = _local(element.tag)
                if tag == "event":
                    events.append(_attributes(element, ""))
                    element.clear()
                elif tag == "trace":
                    case = _attributes(element, "case:")
                    for values in events:
                        number += 1
                        if number % _EVERY == 0 and self._progress is not None:
                            self._progress(self._raw.count, self._total)
                        yield number, {**case, **values}
                    events = []
                    root.clear()
            if self._progress is not None:
                self._progress(self._total, self._total)
        except ElementTree.ParseError as exc:
            line, column = exc.position
            raise ImportSourceError(
                f"{self._name}: not well-formed XML at line {line}, column {column}") from None
        except _BROKEN as exc:
            raise ImportSourceError(f"{self._name}: {exc}") from None
        finally:
            self.close()

    def close(self) -> None:
        self._raw.close()


class MemorySource:
    """Records held in memory (rows numbered from 1), for tests and programs that build them."""

    def __init__(self, rows: Iterable[Mapping[str, str]], *, name: str = "memory",
                 columns: Iterable[str] | None = None) -> None:
        self._rows = rows
        self._name = name
        self._columns = None if columns is None else tuple(columns)

    @property
    def name(self) -> str:
        return self._name

    def open(self, progress: Progress | None = None) -> RecordStream:
        return _MemoryStream(self._rows, self._columns, progress)


class _MemoryStream:
    def __init__(self, rows: Iterable[Mapping[str, str]], columns: tuple[str, ...] | None,
                 progress: Progress | None) -> None:
        self._rows = rows
        self.columns = columns
        self._progress = progress

    def __iter__(self) -> Iterator[Record | RowError]:
        total = len(self._rows) if isinstance(self._rows, Sized) else None
        number = 0
        for number, values in enumerate(self._rows, 1):
            if number % _EVERY == 0 and self._progress is not None:
                self._progress(number, total)
            yield number, values
        if self._progress is not None:
            self._progress(number, total if total is not None else number)

    def close(self) -> None:
        return None
