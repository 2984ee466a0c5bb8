"""The lake's files, on a local disk or on S3: publishing a new version and finding the current one.

No Spark and no Dagster here, so any reader (DuckDB, pyarrow, the sensors) can use it.

A table is `<lake>/<table>/`, partitions `<table>/k=v/…` (Hive style). A new version is
first written to `<lake>/_staging/<id>/`, then published:

- on a local disk by two renames (old folder to `_trash/`, staged folder into place):
  atomic, so readers see the old or the new version; a journal written first lets
  `recover` put the old folder back if the process dies between the renames;
- on S3, where nothing renames atomically, the staged files are moved (server-side
  copy) into the table's folder under new names `part-<version>-NNNNN.parquet`, then
  `<folder>/_manifest.json` is replaced (one PUT: atomic) by one listing the new files,
  then the previous version's files are deleted. Readers that go through the manifest
  (`current_files`, `dataset`, `lake query`, Spark via `Lake.read`) see the old version
  until that PUT and the new one after it, never a mix; readers of the bare prefix
  (Athena, `read_parquet('…/*.parquet')`) see the new files beside the old ones for the
  seconds between the moves and the deletes. Files named in no manifest (a publish that
  died half-way) are deleted by the next publish of that folder; a folder's first publish
  writes a manifest of what it shows before moving anything.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

from lake_assets import s3

STAGING = "_staging"
TRASH = "_trash"
MANIFEST = "_manifest.json"
REJECTED = "_REJECTED"


def _hidden(name: str) -> bool:
    return name.startswith(("_", "."))


class LakeFiles:
    """The files of the lake under `root` (a folder or an `s3://bucket/prefix`)."""

    def __init__(self, root: str):
        from pyarrow import fs

        self.on_s3 = s3.is_s3(root)
        self.root = str(root).rstrip("/") if self.on_s3 else str(Path(root).absolute())
        self._scheme = self.root.split("://", 1)[0] + "://" if self.on_s3 else ""
        self.fs = s3.filesystem(self.root) if self.on_s3 else fs.LocalFileSystem()

    # ------------------------------------------------------------ paths

    def path(self, table: str, partition: dict | None = None) -> str:
        """`<lake>/<table>` or, for a partition, `<lake>/<table>/k1=v1/k2=v2`."""
        return "/".join([self.root, table] + [f"{k}={v}" for k, v in (partition or {}).items()])

    def staging_path(self) -> str:
        return f"{self.root}/{STAGING}/{uuid.uuid4().hex}"

    def _key(self, uri: str) -> str:
        return s3.split(uri) if self.on_s3 else str(Path(uri).absolute())

    def _uri(self, key: str) -> str:
        return f"{self._scheme}{key}"

    def _call(self, uri: str, fn, *args):
        return s3.call(uri, fn, *args) if self.on_s3 else fn(*args)

    def _files_under(self, uri: str) -> list:
        """Every file below `uri` (recursively), as pyarrow FileInfo."""
        from pyarrow import fs

        selector = fs.FileSelector(self._key(uri), recursive=True, allow_not_found=True)
        return [i for i in self._call(uri, self.fs.get_file_info, selector) if i.type == fs.FileType.File]

    # ------------------------------------------------------------ reading

    def exists(self, table: str, partition: dict | None = None) -> bool:
        from pyarrow import fs

        uri = self.path(table, partition)
        return self._call(uri, self.fs.get_file_info, self._key(uri)).type != fs.FileType.NotFound

    def tables(self) -> list[str]:
        """The table folders under the root (not the `_staging`/`_trash` internals)."""
        from pyarrow import fs

        selector = fs.FileSelector(self._key(self.root), allow_not_found=True)
        return sorted(i.base_name for i in self._call(self.root, self.fs.get_file_info, selector)
                      if i.type == fs.FileType.Directory and not _hidden(i.base_name))

    def current_files(self, table: str) -> list[str]:
        """The data files of the table's current version (every partition), as URIs."""
        table_uri = self.path(table)
        table_key = self._key(table_uri)
        by_folder: dict[str, list[str]] = {}
        manifests: dict[str, list[str]] = {}
        for info in self._files_under(table_uri):
            folder, _, name = info.path.rpartition("/")
            relative = folder[len(table_key):].strip("/").split("/")
            if any(_hidden(part) for part in relative if part):
                continue
            if name == MANIFEST:
                manifests[folder] = self._read_manifest(info.path)["files"]
            elif not _hidden(name) and name.endswith(".parquet"):
                by_folder.setdefault(folder, []).append(name)
        chosen = {folder: manifests.get(folder, names) for folder, names in by_folder.items()}
        chosen.update({f: names for f, names in manifests.items() if f not in chosen})
        return sorted(self._uri(f"{folder}/{name}") for folder, names in chosen.items() for name in names)

    def _read_manifest(self, key: str) -> dict:
        with self._call(self._uri(key), self.fs.open_input_stream, key) as f:
            return json.loads(f.read())

    def dataset(self, table: str):
        """The current version of a table as a pyarrow dataset.

        Hive partition keys become integer (or string) columns, unless the files hold a
        column of that name already (the rejects keep the raw i94yr/i94mon)."""
        import pyarrow as pa
        import pyarrow.dataset as ds
        import pyarrow.parquet as pq

        files = [self._key(f) for f in self.current_files(table)]
        if not files:
            raise FileNotFoundError(f"table {table!r} is not in the lake at {self.path(table)}")
        base = self._key(self.path(table))
        in_files = set(self._call(self.path(table), lambda: pq.read_schema(files[0], filesystem=self.fs)).names)
        values: dict[str, set[str]] = {}
        for f in files:
            for part in f[len(base) + 1:].split("/")[:-1]:
                key, _, value = part.partition("=")
                values.setdefault(key, set()).add(value)
        fields = [pa.field(k, pa.int32() if all(v.lstrip("-").isdigit() for v in vs) else pa.string())
                  for k, vs in values.items() if k not in in_files]
        partitioning = ds.partitioning(pa.schema(fields), flavor="hive") if fields else None
        return ds.dataset(files, filesystem=self.fs, format="parquet", partitioning=partitioning,
                          partition_base_dir=base)

    def size_bytes(self, uri: str) -> int:
        return sum(i.size for i in self._files_under(uri))

    # ------------------------------------------------------------ writing

    def publish(self, staged: str, table: str, partition: dict | None = None) -> str:
        """Put the staged folder in place of the table (or partition); return its path."""
        target = self.path(table, partition)
        (self._publish_by_manifest if self.on_s3 else self._publish_by_rename)(staged, target)
        return target

    def _publish_by_rename(self, staged: str, target: str) -> None:
        """Old folder to `_trash/<id>`, staged folder into place, trash deleted; `_trash/<id>.json`
        (written first, deleted last) lets `recover` put the old folder back if a kill comes
        between the two renames."""
        from pyarrow import fs

        target_key = self._key(target)
        trash = self._key(f"{self.root}/{TRASH}/{uuid.uuid4().hex}")
        journal = Path(f"{trash}.json")
        had_old = self.fs.get_file_info(target_key).type != fs.FileType.NotFound
        if had_old:
            self.fs.create_dir(trash.rpartition("/")[0])
            journal.write_text(json.dumps({"target": target_key, "trash": trash}))
            self.fs.move(target_key, trash)
        self.fs.create_dir(target_key.rpartition("/")[0])
        self.fs.move(self._key(staged), target_key)
        if had_old:
            self.fs.delete_dir(trash)
            journal.unlink()

    def recover(self, clean: bool = False) -> list[str]:
        """Repair what a killed run left; return one line per repair.

        A publish killed between its two renames gets its old folder back from `_trash`
        (the table reads as its last good version); other trash is deleted. With `clean`
        (when no other run writes to this lake) the staging folders are deleted too, except
        rejected versions kept for inspection (see `keep_rejected`)."""
        done = []
        trash = Path(self._key(f"{self.root}/{TRASH}"))
        if not self.on_s3 and trash.is_dir():
            for journal in sorted(trash.glob("*.json")):
                entry = json.loads(journal.read_text())
                old, target = Path(entry["trash"]), Path(entry["target"])
                if old.exists() and not target.exists():
                    old.rename(target)
                    done.append(f"restored {target} (its publish was interrupted)")
                if old.exists():
                    self.fs.delete_dir(str(old))
                journal.unlink()
            if clean:
                for left in trash.iterdir():
                    self.delete(str(left)) if left.is_dir() else left.unlink()
        if clean:
            from pyarrow import fs

            staging = self._key(f"{self.root}/{STAGING}")
            selector = fs.FileSelector(staging, allow_not_found=True)
            for info in self._call(self.root, self.fs.get_file_info, selector):
                rejected = f"{info.path}/{REJECTED}"
                if self._call(self.root, self.fs.get_file_info, rejected).type == fs.FileType.NotFound:
                    self.delete(self._uri(info.path))
                    done.append(f"removed {self._uri(info.path)} (left by an unfinished run)")
        return done

    def keep_rejected(self, staged: str) -> None:
        """Mark a staged folder that failed a blocking check, so `recover` keeps it."""
        key = f"{self._key(staged)}/{REJECTED}"
        with self._call(staged, self.fs.open_output_stream, key) as f:
            f.write(b"failed a blocking check: kept for inspection\n")

    def _publish_by_manifest(self, staged: str, target: str) -> None:
        from pyarrow import fs

        target_key = self._key(target)
        version = f"{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{uuid.uuid4().hex[:8]}"
        parts = sorted(i.path for i in self._files_under(staged)
                       if i.path.endswith(".parquet") and not _hidden(i.base_name))
        if self._call(target, self.fs.get_file_info, f"{target_key}/{MANIFEST}").type == fs.FileType.NotFound:
            # A first publish: a manifest of what readers see now (nothing, or files put there
            # without one), so that a kill among the moves below shows no half-moved version.
            seen = [i.base_name for i in self._files_under(target) if i.path.rpartition("/")[0] == target_key
                    and i.base_name.endswith(".parquet") and not _hidden(i.base_name)]
            with self._call(target, self.fs.open_output_stream, f"{target_key}/{MANIFEST}") as f:
                f.write(json.dumps({"version": "before", "files": seen}).encode())
        names = []
        for n, part in enumerate(parts):
            names.append(f"part-{version}-{n:05d}.parquet")
            self._call(target, self.fs.move, part, f"{target_key}/{names[-1]}")
        manifest = {"version": version, "published_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "files": names}
        with self._call(target, self.fs.open_output_stream, f"{target_key}/{MANIFEST}") as f:
            f.write(json.dumps(manifest, indent=1).encode())
        keep = {f"{target_key}/{n}" for n in names} | {f"{target_key}/{MANIFEST}"}
        for info in self._files_under(target):
            if info.path not in keep:
                self._call(target, self.fs.delete_file, info.path)
        self.delete(staged)

    def delete(self, uri: str) -> None:
        """Remove a folder (staging, trash) and everything in it, if it is there."""
        from pyarrow import fs

        key = self._key(uri)
        if self._call(uri, self.fs.get_file_info, key).type != fs.FileType.NotFound:
            try:
                self._call(uri, self.fs.delete_dir, key)
            except FileNotFoundError:  # on S3, a 'folder' listed while its last objects went
                pass
