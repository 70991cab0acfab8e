"""The backup file: a gzip'd tar of members, the manifest last.

Members are regular files only: ``database/<file>`` (the SQLite copy or the
PostgreSQL dump), ``recordings/<path>`` and ``uploads/<path>``, then
``manifest.json``: the format and its version, when it was made, the schema
revision, the database kind, the rows of each table and every member's size
and sha256, computed from the very bytes written into the archive (a
recording still growing is taken as far as it was when its turn came).

Reading checks everything before anything is used: every member is read and
hashed, and the set of members must be exactly the manifest's."""
from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import os
import tarfile
import zlib
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import IO

FORMAT = "callcenter-backup"
VERSION = 1
MANIFEST = "manifest.json"
DATABASE = "database"
FOLDERS = ("recordings", "uploads")
CHUNK = 1 << 20
_DAMAGED = (tarfile.TarError, EOFError, zlib.error, OSError, UnicodeDecodeError)


class ArchiveError(Exception):
    """The file is not a whole, unchanged backup this version can read."""


class _Hashing:
    """A file read through sha256."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw, self.sha = raw, hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.sha.update(data)
        return data


class Writer:
    """A new archive at ``path`` (created with mode 0600, never over a file)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self._file = os.fdopen(fd, "wb")
        self._tar = tarfile.open(fileobj=self._file, mode="w:gz", compresslevel=6,
                                 format=tarfile.PAX_FORMAT)
        self.members: dict[str, dict] = {}

    def add_file(self, name: str, source: Path) -> bool:
        """Add ``source`` as ``name``; False when it was gone before it could be read."""
        try:
            f = open(source, "rb")
        except FileNotFoundError:
            return False
        with f:
            st = os.fstat(f.fileno())
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = st.st_size, int(st.st_mtime), st.st_mode & 0o666
            hashing = _Hashing(f)
            self._tar.addfile(info, hashing)
        self.members[name] = {"size": info.size, "sha256": hashing.sha.hexdigest()}
        return True

    def add_folder(self, prefix: str, folder: Path) -> int:
        """Every regular file under ``folder`` as ``prefix/<relative path>`` (links
        and other special files are left out); how many."""
        count = 0
        if not folder.is_dir():
            return 0
        for root, dirs, files in os.walk(folder):
            dirs.sort()
            for file in sorted(files):
                source = Path(root) / file
                if not source.is_file() or source.is_symlink():
                    continue
                relative = source.relative_to(folder).as_posix()
                count += self.add_file(f"{prefix}/{relative}", source)
        return count

    def finish(self, manifest: dict) -> None:
        """Write the manifest last and close the file, flushed to the disk."""
        manifest = dict(manifest, members=self.members)
        data = json.dumps(manifest, indent=1, sort_keys=True).encode()
        info = tarfile.TarInfo(MANIFEST)
        info.size, info.mtime, info.mode = len(data), int(dt.datetime.now().timestamp()), 0o600
        self._tar.addfile(info, _Bytes(data))
        self._tar.close()
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()

    def abort(self) -> None:
        try:
            self._tar.close()
            self._file.close()
        finally:
            self.path.unlink(missing_ok=True)


class _Bytes:
    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def read(self, size: int = -1) -> bytes:
        end = len(self.data) if size < 0 else self.at + size
        chunk, self.at = self.data[self.at:end], min(end, len(self.data))
        return chunk


def new_manifest(kind: str, revision: str | None, counts: dict[str, int]) -> dict:
    return {"format": FORMAT, "version": VERSION, "database": kind, "schema_revision": revision,
            "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "counts": counts}


def _check_name(info: tarfile.TarInfo) -> None:
    parts = PurePosixPath(info.name).parts
    if (not info.isreg() or PurePosixPath(info.name).is_absolute() or ".." in parts or len(parts) < 2
            or parts[0] not in (DATABASE, *FOLDERS)):
        raise ArchiveError(f"the archive holds {info.name!r}, which no callcenter backup holds; refused")


def _read_manifest(data: bytes) -> dict:
    try:
        manifest = json.loads(data)
    except ValueError:
        raise ArchiveError("its manifest is not valid JSON") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ArchiveError("its manifest is not a callcenter backup's")
    if manifest.get("version") != VERSION:
        raise ArchiveError(f"it is a backup of format version {manifest.get('version')}; "
                           f"this version reads version {VERSION}")
    if not isinstance(manifest.get("members"), dict):
        raise ArchiveError("its manifest lists no members")
    return manifest


def members(path: Path) -> Iterator[tuple[tarfile.TarInfo, IO[bytes] | None]]:
    """The archive's members in order, each with its content (None for the
    manifest, which comes last); ArchiveError for a damaged file."""
    try:
        with tarfile.open(path, "r|gz") as tar:
            for info in tar:
                if info.name == MANIFEST:
                    yield info, None
                    continue
                _check_name(info)
                yield info, tar.extractfile(info)
    except _DAMAGED as exc:
        raise ArchiveError(f"the file is damaged or cut short ({exc or type(exc).__name__})") from None


def verify(path: Path) -> dict:
    """Read the whole archive: its manifest once every member was found
    whole and unchanged; ArchiveError saying what is wrong otherwise."""
    seen: dict[str, str] = {}
    manifest = None
    try:
        with gzip.open(path, "rb") as gz, tarfile.open(fileobj=gz, mode="r|") as tar:
            for info in tar:
                if info.name in seen or (info.name == MANIFEST and manifest is not None):
                    raise ArchiveError(f"the archive holds {info.name} twice")
                if info.name == MANIFEST:
                    manifest = _read_manifest(tar.extractfile(info).read())
                    continue
                _check_name(info)
                sha, f = hashlib.sha256(), tar.extractfile(info)
                while chunk := f.read(CHUNK):
                    sha.update(chunk)
                seen[info.name] = sha.hexdigest()
            while gz.read(CHUNK):  # to the end: gzip's own check (CRC, length) of every byte
                pass
    except _DAMAGED as exc:
        raise ArchiveError(f"the file is damaged or cut short ({exc or type(exc).__name__})") from None
    if manifest is None:
        raise ArchiveError("it has no manifest: not a callcenter backup, or cut short")
    listed = manifest["members"]
    if missing := sorted(set(listed) - set(seen)):
        raise ArchiveError(f"{len(missing)} file(s) of its manifest are missing (first: {missing[0]})")
    if extra := sorted(set(seen) - set(listed)):
        raise ArchiveError(f"it holds {len(extra)} file(s) its manifest does not list (first: {extra[0]})")
    if changed := sorted(name for name in seen if seen[name] != listed[name].get("sha256")):
        raise ArchiveError(f"{len(changed)} file(s) differ from the manifest's sha256 (first: {changed[0]}): "
                           "changed since the backup was made")
    if sum(1 for name in listed if name.startswith(DATABASE + "/")) != 1:
        raise ArchiveError("it does not hold exactly one database")
    return manifest


def _folders_to(folder: Path, owner: tuple[int, int] | None) -> None:
    """Create ``folder`` and its missing parents, owned by ``owner`` when given."""
    missing = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for new in reversed(missing):
        new.mkdir(mode=0o750)
        if owner is not None:
            os.chown(new, *owner)


def extract(source: IO[bytes], info: tarfile.TarInfo, target: Path, sha256: str,
            owner: tuple[int, int] | None = None) -> None:
    """Write a member to ``target`` through a temporary file beside it, renamed
    into place only once its sha256 is the manifest's. ``owner``: the uid and
    gid of the file and of the folders made for it (when run as root)."""
    _folders_to(target.parent, owner)
    temp = target.with_name(f".{target.name}.restore-{os.getpid()}")
    sha = hashlib.sha256()
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            while chunk := source.read(CHUNK):
                sha.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if sha.hexdigest() != sha256:
            raise ArchiveError(f"{info.name} changed while it was being restored; stopped")
        os.chmod(temp, info.mode & 0o666 or 0o600)
        os.utime(temp, (info.mtime, info.mtime))
        if owner is not None:
            os.chown(temp, *owner)
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)
