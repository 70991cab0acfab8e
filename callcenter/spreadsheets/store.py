"""Uploaded files on disk, under ``settings.uploads_dir``, each under a name the
server makes (``<32 hex>.csv`` / ``.xlsx``: the client's name is only shown),
and the full validation report as CSV beside it (``<32 hex>.report.csv``), the
rows a customer upload left out (``<32 hex>.rejects.csv`` / ``.rejects.xlsx``).

``save_part`` writes an aiohttp multipart file part while counting its bytes:
past the limit it stops, deletes what it wrote and raises TooLarge. The
sha256 it returns lets a commit check the file did not change since its
validation."""
from __future__ import annotations

import csv
import hashlib
import logging
import os
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from callcenter.spreadsheets.exceptions import TooLarge, UploadNotFound

log = logging.getLogger(__name__)

CHUNK = 256 * 1024
KNOWN_SUFFIXES = (".csv", ".xlsx", ".txt", ".tsv", ".xlsm")
REPORT_FIELDS = ("row", "status", "mobile", "reason")
SHOWN_PROBLEMS = 200  # problems kept in Upload.report (all are in the report CSV)
_STORED = re.compile(r"^[0-9a-f]{32}\.(csv|xlsx|txt|tsv|xlsm|bin)$")


@dataclass(frozen=True)
class SavedFile:
    path: Path
    stored_name: str
    original_name: str
    size: int
    sha256: str


def clean_name(name: str | None) -> str:
    """The client's file name, for display only: no folders, no control characters."""
    name = re.split(r"[\\/]", name or "")[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    return name[:200] or "upload"


def stored_path(directory: Path, stored_name: str) -> Path:
    """The path of a stored file; refuses anything but a server-made name."""
    if not _STORED.fullmatch(stored_name or ""):
        raise UploadNotFound("no such uploaded file")
    return Path(directory) / stored_name


def report_path(directory: Path, stored_name: str) -> Path:
    return stored_path(directory, stored_name).with_suffix(".report.csv")


def staged_path(directory: Path, stored_name: str) -> Path:
    """Where a validation stages the rows a commit will write (JSON lines or numbers)."""
    return stored_path(directory, stored_name).with_suffix(".rows.jsonl")


def rejects_path(directory: Path, stored_name: str, fmt: str = "csv") -> Path:
    """The rows an upload left out, in their original cells ('csv' or 'xlsx')."""
    return stored_path(directory, stored_name).with_suffix(f".rejects.{fmt}")


def max_bytes(settings) -> int:
    """The largest file the settings let anyone upload."""
    return settings.work.upload_max_mb * 1024 * 1024


def new_name(original_name: str) -> str:
    suffix = Path(original_name).suffix.lower()
    return uuid.uuid4().hex + (suffix if suffix in KNOWN_SUFFIXES else ".bin")


async def save_part(part, directory: Path, max_bytes: int) -> SavedFile:
    """Write a multipart file part (``aiohttp.BodyPartReader``) to ``directory``."""
    original = clean_name(part.filename)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    stored = new_name(original)
    path = directory / stored
    digest, size = hashlib.sha256(), 0
    try:
        with open(path, "xb") as f:
            while chunk := await part.read_chunk(CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise TooLarge(f"the file is larger than {max_bytes / 1e6:.0f} MB",
                                   max_bytes=max_bytes)
                digest.update(chunk)
                f.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    log.info("upload saved: %s (%d bytes) as %s", original, size, stored)
    return SavedFile(path, stored, original, size, digest.hexdigest())


def save_bytes(data: bytes, original_name: str, directory: Path, max_bytes: int) -> SavedFile:
    """The same for a file already in memory (tests, the CLI)."""
    if len(data) > max_bytes:
        raise TooLarge(f"the file is larger than {max_bytes / 1e6:.0f} MB", max_bytes=max_bytes)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    original = clean_name(original_name)
    stored = new_name(original)
    path = directory / stored
    path.write_bytes(data)
    return SavedFile(path, stored, original, len(data), hashlib.sha256(data).hexdigest())


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def delete(directory: Path, stored_name: str) -> None:
    """Remove a stored file, its report and its rejects files (if they exist)."""
    for path in (stored_path(directory, stored_name), report_path(directory, stored_name),
                 rejects_path(directory, stored_name), rejects_path(directory, stored_name, "xlsx")):
        path.unlink(missing_ok=True)


class CsvWriter:
    """Writes a CSV one row at a time, to a temporary name first, renamed into
    place on a clean close (an error leaves no half file behind)."""

    def __init__(self, path: Path, header: list[str], encoding: str = "utf-8") -> None:
        self.path, self.rows = Path(path), 0
        self._tmp = self.path.with_name(self.path.name + ".part")
        self._file = open(self._tmp, "w", newline="", encoding=encoding)
        self._csv = csv.writer(self._file)
        self._csv.writerow(header)

    def write(self, cells) -> None:
        self._csv.writerow(cells)
        self.rows += 1

    def close(self, keep: bool = True) -> None:
        if self._file.closed:
            return
        self._file.close()
        if keep:
            os.replace(self._tmp, self.path)
        else:
            self._tmp.unlink(missing_ok=True)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *_) -> None:
        self.close(keep=exc_type is None)


class ReportWriter(CsvWriter):
    """The full report of an upload (row, status, mobile, reason)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, list(REPORT_FIELDS))

    def add(self, row: int, status: str, reason: str = "", mobile: str = "") -> None:
        self.write((row, status, mobile or "", reason or ""))


def write_report(path: Path, rows: Iterable[tuple]) -> None:
    with ReportWriter(path) as report:
        for row in rows:
            report.add(*row)


def read_report(path: Path) -> Iterator[dict]:
    """The report's rows as dicts (row as int)."""
    with open(path, newline="", encoding="utf-8") as f:
        for record in csv.DictReader(f):
            record["row"] = int(record["row"])
            yield record
