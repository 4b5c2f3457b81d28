"""One project as one archive file, and back.

An archive is a zip: ``manifest.json`` (every row of the project, as the domain models dump
them) and ``assets/<sha256>`` (the bytes, stored uncompressed: media does not compress). Import
trusts nothing in it: names, sizes, hashes and every document are checked before any row is
written, and the rows go in one transaction, so a bad archive changes nothing.
"""

from __future__ import annotations

import json
import re
import zipfile
from functools import partial
from pathlib import Path

from pydantic import Field, ValidationError

from studio.errors import Conflict, InvalidInput, PayloadTooLarge
from studio.files import replacing
from studio.model import (
    Analysis,
    Character,
    Comment,
    Concept,
    Job,
    Mood,
    Project,
    Render,
    Scene,
    StudioModel,
    Take,
    Timeline,
)
from studio.store._assets import CHUNK, AssetStore
from studio.store._migrations import SCHEMA_VERSION
from studio.store._repos import Tx

__all__ = [
    "ARCHIVE_FORMAT",
    "AssetEntry",
    "ProjectSnapshot",
    "read_archive",
    "restore",
    "snapshot",
    "write_archive",
]

ARCHIVE_FORMAT = 1
_MANIFEST = "manifest.json"
_MAX_MANIFEST = 64 << 20
_ASSET_NAME = re.compile(r"^assets/([0-9a-f]{64})$")


class AssetEntry(StudioModel):
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=0)
    media_type: str = Field(max_length=200)


class ProjectSnapshot(StudioModel):
    """Everything a project is, in one document."""

    format: int = ARCHIVE_FORMAT
    schema_version: int = SCHEMA_VERSION
    project: Project
    concepts: list[Concept] = Field(default_factory=list)
    moods: list[Mood] = Field(default_factory=list)
    characters: list[Character] = Field(default_factory=list)
    scenes: list[Scene] = Field(default_factory=list)
    takes: list[Take] = Field(default_factory=list)
    timelines: list[Timeline] = Field(default_factory=list)
    renders: list[Render] = Field(default_factory=list)
    comments: list[Comment] = Field(default_factory=list)
    jobs: list[Job] = Field(default_factory=list)
    analyses: list[Analysis] = Field(default_factory=list)
    assets: list[AssetEntry] = Field(default_factory=list)

    def asset_ids(self) -> set[str]:
        """Every asset the project's rows point at."""
        found = {t.asset_sha256 for t in self.takes} | {r.asset_sha256 for r in self.renders}
        if self.project.audio is not None:
            found.add(self.project.audio.asset_sha256)
        for character in self.characters:
            found.update(character.reference_assets)
        return {sha for sha in found if sha}


_ROWS = (
    "concepts",
    "moods",
    "characters",
    "scenes",
    "takes",
    "timelines",
    "renders",
    "comments",
    "jobs",
)


def snapshot(tx: Tx, project_ref: str) -> ProjectSnapshot:
    """Read one project whole (run it in one read so the rows agree with each other)."""
    project = tx.projects.resolve(project_ref)
    rows = {name: getattr(tx, name).list(project.id) for name in _ROWS}
    snap = ProjectSnapshot(project=project, **rows)
    if project.audio is not None:
        analysis = tx.analyses.find(project.audio.asset_sha256)
        snap.analyses = [analysis] if analysis else []
    entries = []
    for sha in sorted(snap.asset_ids()):
        row = tx.assets.get(sha)
        entries.append(
            AssetEntry(**row)
            if row
            else AssetEntry(sha256=sha, size=0, media_type="application/octet-stream")
        )
    snap.assets = entries
    return snap


def write_archive(snap: ProjectSnapshot, assets: AssetStore, dest: Path) -> Path:
    """Write the archive to ``dest`` (via a temporary name: no half archive under ``dest``)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    missing = [a.sha256 for a in snap.assets if not assets.exists(a.sha256)]
    if missing:
        raise InvalidInput(
            f"{len(missing)} asset file(s) of the project are missing from the store, "
            f"first {missing[0]}",
            hint="run `studio doctor` to check the asset store",
        )
    with replacing(dest) as tmp, zipfile.ZipFile(tmp, "w", allowZip64=True) as zf:
        zf.writestr(_MANIFEST, snap.model_dump_json(indent=1), compress_type=zipfile.ZIP_DEFLATED)
        for entry in snap.assets:
            zf.write(assets.path(entry.sha256), f"assets/{entry.sha256}", zipfile.ZIP_STORED)
    return dest


def _corrupt(path: Path, why: str) -> InvalidInput:
    return InvalidInput(
        f"{path.name} is not a usable studio archive: {why}",
        hint="export the project again with `studio export`",
    )


def read_archive(path: Path, assets: AssetStore, *, max_bytes: int) -> ProjectSnapshot:
    """Check an archive and copy its assets into the store; returns the rows to restore."""
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise _corrupt(path, "it is not a zip file or it is cut short") from exc
    with zf:
        infos = zf.infolist()
        names = {i.filename for i in infos}
        strays = [n for n in names if n != _MANIFEST and not _ASSET_NAME.fullmatch(n)]
        if strays:
            raise _corrupt(path, f"it holds an unexpected entry {strays[0][:80]!r}")
        if _MANIFEST not in names:
            raise _corrupt(path, "it has no manifest.json")
        total = sum(i.file_size for i in infos)
        if total > max_bytes:
            raise PayloadTooLarge(
                f"the archive unpacks to {total:,} bytes, over the limit of {max_bytes:,}",
                hint="raise STUDIO_MAX_UPLOAD to import it",
            )
        if zf.getinfo(_MANIFEST).file_size > _MAX_MANIFEST:
            raise _corrupt(path, "its manifest is implausibly large")
        try:
            raw = json.loads(zf.read(_MANIFEST))
            snap = ProjectSnapshot.model_validate(raw)
        except ValidationError as exc:  # before ValueError, which it subclasses
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise _corrupt(path, f"its manifest is invalid at {where}: {first['msg']}") from exc
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            raise _corrupt(path, "its manifest cannot be read") from exc
        if snap.format != ARCHIVE_FORMAT:
            raise _corrupt(path, f"it is format {snap.format}; this studio reads {ARCHIVE_FORMAT}")
        _check_belongs(path, snap)
        wanted = {a.sha256 for a in snap.assets}
        if not snap.asset_ids() <= wanted:
            raise _corrupt(path, "its rows point at assets it does not list")
        present = {m.group(1) for n in names if (m := _ASSET_NAME.fullmatch(n))}
        if wanted - present:
            raise _corrupt(path, f"asset {sorted(wanted - present)[0]} is listed but not included")
        for sha in sorted(wanted):
            try:
                with zf.open(f"assets/{sha}") as handle:
                    got, _ = assets.put_chunks(iter(partial(handle.read, CHUNK), b""))
            except (zipfile.BadZipFile, OSError, EOFError) as exc:
                raise _corrupt(path, f"asset {sha} cannot be read") from exc
            if got != sha:
                raise _corrupt(path, f"asset {sha} does not match its hash")
    return snap


def _check_belongs(path: Path, snap: ProjectSnapshot) -> None:
    pid = snap.project.id
    for name in _ROWS:
        for row in getattr(snap, name):
            if row.project_id != pid:
                raise _corrupt(path, f"a row in {name} belongs to another project")


def restore(tx: Tx, snap: ProjectSnapshot) -> Project:
    """Write every row of a checked snapshot (call inside one write transaction)."""
    project = snap.project
    if tx.projects.find(project.id) is not None:
        raise Conflict(
            f"project {project.name!r} ({project.id}) is already in this store",
            hint="delete it first, or import into another STUDIO_HOME",
        )
    tx.projects.insert(project)
    for name in _ROWS:
        repo = getattr(tx, name)
        for row in getattr(snap, name):
            repo.insert(row)
    for analysis in snap.analyses:
        tx.analyses.put(analysis)
    for entry in snap.assets:
        tx.assets.add(entry.sha256, entry.size, entry.media_type)
    return project
