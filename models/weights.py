"""Where model weight files are, and whether they are the files we expect.

Weights are plain files, never downloaded at import or run time. They are looked up, in order, in the
directory named by the ``SPOTTER_MODELS`` environment variable and in ``models/weights/`` of the project.
Each directory may hold the files flat or in the ``detector/`` / ``reid/`` layout of the manifest.
Files listed in ``models/manifest.json`` are checked against their sha256 the first time a
:class:`WeightStore` resolves them; any other file (a user's own YOLO export, say) is taken as given and
validated by loading it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from models.errors import WeightsError

log = logging.getLogger(__name__)

MODELS_DIR = Path(__file__).resolve().parent
PROJECT_WEIGHTS_DIR = MODELS_DIR / "weights"
MANIFEST_PATH = MODELS_DIR / "manifest.json"
ENV_VAR = "SPOTTER_MODELS"
HOW_TO_GET = "run ./install.sh --weights DIR_OR_URL or set SPOTTER_MODELS (README: Model weights)"
PICKLE_SUFFIXES = (".pt", ".pth", ".pkl", ".ckpt")  # PyTorch checkpoints: loading one runs its code


@dataclass(frozen=True)
class KnownWeight:
    """One manifest entry."""

    relpath: str
    sha256: str
    role: str
    about: str


def load_manifest(path: Path = MANIFEST_PATH) -> dict[str, KnownWeight]:
    """Read the manifest of known weight files, keyed by path relative to a weights directory."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return {rel: KnownWeight(rel, **entry) for rel, entry in data["files"].items()}


PREFIX_MARK_BYTES = 64 << 20  # a marked hash keeps its state every this many bytes (about 3 MB a TB)


def sha256_of(path: Path, chunk: int = 1 << 20, limit: int | None = None) -> str:
    """Hex sha256 of a file, read in chunks; of its first ``limit`` bytes only where given (a file
    still being written: the bytes that were measured, not those added since)."""
    return sha256_marked(path, limit, every=0, chunk=chunk).hexdigest


@dataclass
class MarkedDigest:
    """A file's SHA-256 (``hexdigest``) and the digest's state after every ``every`` bytes, from which
    :meth:`prefix` hashes the file's first bytes (a recording that has grown since it was indexed)
    reading at most ``every`` bytes more instead of the file again."""

    path: Path
    hexdigest: str
    states: list  # states[k]: after k * every bytes
    every: int

    def prefix(self, size: int) -> str:
        """Hex sha256 of the file's first ``size`` bytes (at most those hashed); raises OSError."""
        k = min(size // self.every, len(self.states) - 1) if self.states else 0
        digest = self.states[k].copy() if self.states else hashlib.sha256()
        done = k * self.every
        with open(self.path, "rb") as f:
            f.seek(done)
            while done < size and (block := f.read(min(1 << 20, size - done))):
                digest.update(block)
                done += len(block)
        return digest.hexdigest()


def sha256_marked(
    path: Path, limit: int | None = None, every: int | None = None, chunk: int = 1 << 20
) -> MarkedDigest:
    """:func:`sha256_of` in one read that also keeps the digest's state every ``every`` bytes (0: none;
    default ``PREFIX_MARK_BYTES``)."""
    every = PREFIX_MARK_BYTES if every is None else every
    digest, left, done = hashlib.sha256(), limit, 0
    states = [digest.copy()] if every else []
    with open(path, "rb") as f:
        while True:
            want = chunk if left is None else min(chunk, left)
            if every:  # never read across the next mark
                want = min(want, len(states) * every - done)
            if not (block := f.read(want)):
                break
            digest.update(block)
            done += len(block)
            if every and done == len(states) * every:
                states.append(digest.copy())
            if left is not None:
                left -= len(block)
    return MarkedDigest(Path(path), digest.hexdigest(), states, every)


def default_dirs() -> list[Path]:
    """Weight directories in lookup order: ``$SPOTTER_MODELS`` first, then ``models/weights/``."""
    dirs = []
    if env := os.environ.get(ENV_VAR):
        dirs.append(Path(env).expanduser())
    dirs.append(PROJECT_WEIGHTS_DIR)
    return dirs


class WeightStore:
    """Resolves weight names to verified files.

    ``resolve("reid/osnet_x0_25_msmt17.onnx")`` finds the file under any lookup directory (in the
    manifest layout or flat), checks its sha256 once per store, and returns its path. An absolute or
    relative path to an existing file outside the lookup directories is accepted as is.
    """

    def __init__(self, dirs: list[Path] | None = None, manifest: dict[str, KnownWeight] | None = None):
        self.dirs = list(dirs) if dirs is not None else default_dirs()
        self.manifest = manifest if manifest is not None else load_manifest()
        self._verified: dict[tuple[str, int, int], str] = {}

    def _candidates(self, name: str) -> list[Path]:
        base = Path(name).name
        out = []
        for d in self.dirs:
            out += [d / name, d / base] if base != name else [d / name]
            for rel in self.manifest:  # a flat name may live in the manifest's sub-folder layout
                if Path(rel).name == base and rel != name:
                    out.append(d / rel)
        return out

    def known_entry(self, path: Path) -> KnownWeight | None:
        """The manifest entry whose file name matches ``path``, if any."""
        for entry in self.manifest.values():
            if Path(entry.relpath).name == path.name:
                return entry
        return None

    def resolve(self, name: str | Path, verify: bool = True) -> Path:
        """Path of the weight file ``name``; raises :class:`WeightsError` if missing or corrupt."""
        direct = Path(name).expanduser()
        path: Path | None = None
        if direct.is_absolute() or direct.exists():
            if direct.is_dir():
                raise WeightsError(f"{direct} is a folder, not a model file: name the .onnx file in it")
            if not direct.is_file():
                raise WeightsError(f"model file not found: {direct} ({HOW_TO_GET})")
            path = direct
        else:
            path = next((p for p in self._candidates(str(name)) if p.is_file()), None)
            if path is None:
                where = ", ".join(str(d) for d in self.dirs)
                raise WeightsError(f"model file {name} not found in {where} ({HOW_TO_GET})")
        if verify:
            self.verify(path)
        return path

    def verify(self, path: Path) -> None:
        """Check a manifest file's sha256 (once per store and file version)."""
        entry = self.known_entry(path)
        if entry is None:
            return
        try:
            st = path.stat()
            key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
            if self._verified.get(key) == entry.sha256:
                return
            actual = sha256_of(path)
        except OSError as e:
            raise WeightsError(f"cannot read model file {path}: {e.strerror} ({HOW_TO_GET})") from e
        if actual != entry.sha256:
            raise WeightsError(
                f"model file {path} is corrupt or not the expected {entry.relpath} "
                f"(sha256 {actual[:12]}..., expected {entry.sha256[:12]}...; {HOW_TO_GET})"
            )
        self._verified[key] = actual
        log.debug("verified %s", path)

    def check_safe(self, path: Path, trust: bool = False) -> None:
        """Refuse to open a pickle-based checkpoint (``.pt``) that is not a known file: unpickling runs
        whatever code the file carries, and Spotter opens files operators are handed. A manifest file
        passes (its SHA-256 was checked by :meth:`resolve`); any other needs ``trust`` (the
        operator's explicit ``--trust-model``). ONNX files carry no code and always pass."""
        if path.suffix.lower() not in PICKLE_SUFFIXES or trust:
            return
        entry = self.known_entry(path)
        if entry is not None:
            self.verify(path)
            return
        raise WeightsError(
            f"refusing to load {path}: a {path.suffix} file can run code when it is loaded and this one is "
            "not a known model; use an ONNX model (main.py export-detector converts a .pt on a machine "
            "you trust), or pass --trust-model if you trust where it came from"
        )

    def status(self) -> list[tuple[str, str]]:
        """(manifest name, 'ok PATH' / 'missing' / 'corrupt: ...') for every known file, for ``doctor``."""
        rows = []
        for rel in self.manifest:
            try:
                rows.append((rel, f"ok {self.resolve(rel)}"))
            except WeightsError as e:
                rows.append((rel, "missing" if "not found" in str(e) else f"bad: {e}"))
        return rows


def install_weights(source: str, dest: Path = PROJECT_WEIGHTS_DIR) -> list[tuple[str, str]]:
    """Copy (from a folder) or download (from a base URL) every manifest file into ``dest``.

    Files are looked up as ``source/<relpath>`` or ``source/<file name>``, verified against the
    manifest and written atomically. Returns (name, 'installed' / 'present' / 'missing' / error) per
    file. This runs only when the operator installs Spotter, never at import or run time.
    """
    import shutil
    import tempfile
    import urllib.request

    manifest = load_manifest()
    results = []
    is_url = source.startswith(("http://", "https://", "file://"))
    for rel, entry in manifest.items():
        target = dest / rel
        if target.is_file() and sha256_of(target) == entry.sha256:
            results.append((rel, "present"))
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=target.parent, prefix=".part-")
        os.close(fd)
        tmp = Path(name)
        try:
            if is_url:
                try:
                    with (
                        urllib.request.urlopen(f"{source.rstrip('/')}/{rel}", timeout=60) as r,
                        open(tmp, "wb") as f,
                    ):
                        shutil.copyfileobj(r, f)
                except OSError as e:
                    results.append((rel, f"missing ({e})"))
                    continue
            else:
                found = next(
                    (p for p in (Path(source) / rel, Path(source) / Path(rel).name) if p.is_file()), None
                )
                if found is None:
                    results.append((rel, "missing"))
                    continue
                shutil.copyfile(found, tmp)
            actual = sha256_of(tmp)
            if actual != entry.sha256:
                results.append((rel, f"wrong checksum {actual[:12]}... (not installed)"))
                continue
            os.replace(tmp, target)
            results.append((rel, "installed"))
        finally:
            tmp.unlink(missing_ok=True)
    return results
