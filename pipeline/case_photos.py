"""A new case's query photos: the case keeps a copy of each, upright and as searched, beside the
library (``case photos/NAME``), so that it has them whatever happens to the originals (a pasted image
or a video frame has no file at all) and its report shows them; a case file taken up keeps its photos
the same way (:mod:`pipeline.case_file`)."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.errors import StorageError
from pipeline.file_names import slug
from pipeline.storage import Library
from pipeline.types import Box


@dataclass(frozen=True)
class CasePhoto:
    """A query photo as a new case takes it."""

    label: str  # what the case calls it where no copy is kept (the file's name, "photo")
    model: str  # the ReID model its vector is from
    vector: np.ndarray
    image: np.ndarray | None = None  # BGR, as searched (None: not at hand)
    box: Box | None = None  # the person searched for in ``image`` (None: the photo was used whole)


def open_case(
    library: Library,
    name: str,
    photos: Sequence[CasePhoto],
    notes: str = "",
    greys: Sequence[np.ndarray | None] = (),
) -> int:
    """A new case with its query photos; its id. Where every photo's picture is at hand, the case
    keeps a copy of each (:func:`keep_query_photos`) and names the copies; a case that is not made
    (a name taken, a full disk) keeps none."""
    kept = []
    if photos and all(p.image is not None for p in photos):
        kept = keep_query_photos(library, name, [(p.label, p.image) for p in photos])
    entries = [(str(kept[k]) if kept else p.label, p.model, p.vector) for k, p in enumerate(photos)]
    try:
        return library.create_case(name, entries, notes, greys=greys, boxes=[p.box for p in photos])
    except BaseException:
        if kept:
            shutil.rmtree(kept[0].parent, ignore_errors=True)
        raise


def keep_query_photos(
    library: Library, case_name: str, photos: Sequence[tuple[str, np.ndarray]]
) -> list[Path]:
    """Copies of a case's query photos ((name, BGR picture) each: a file opened, an image pasted, a
    frame of a video) in a new folder ``case photos/NAME`` beside the library, PNG (lossless); their
    paths, for the case to keep. The case then has its photos whatever happens to the originals (a
    pasted image or a video frame has no file at all), and its report shows them."""
    import cv2

    folder = new_folder(library.location.side_dir / "case photos" / safe_name(case_name))
    out = []
    try:
        for k, (name, image) in enumerate(photos, 1):
            target = folder / f"{k:02d}_{safe_name(Path(name).stem, 'photo')}.png"
            ok, data = cv2.imencode(".png", image)
            if not ok:
                raise StorageError(f"cannot encode the query photo {name}")
            with open(target, "xb") as f:
                f.write(data.tobytes())
            out.append(target)
    except BaseException as e:  # a photo that does not encode, a full disk: no half-kept folder
        shutil.rmtree(folder, ignore_errors=True)
        if isinstance(e, OSError):
            raise StorageError(f"cannot keep the query photos in {folder}: {e.strerror or e}") from e
        raise
    return out


def new_folder(base: Path) -> Path:
    """A folder that did not exist: ``base``, else ``base (2)``, ``base (3)``... (made now)."""
    for k in range(1, 10_000):
        folder = base if k == 1 else base.with_name(f"{base.name} ({k})")
        try:
            folder.mkdir(parents=True)
            return folder
        except FileExistsError:
            continue
        except OSError as e:
            raise StorageError(f"cannot create {folder}: {e.strerror or e}") from e
    raise StorageError(f"cannot find a free folder name beside {base}")


# The most bytes (UTF-8) of a case's or a photo's name in the names of its folder and files: a file
# name holds 255, and a folder made again takes a " (2)" after it, a photo a "01_" before it.
NAME_BYTES = 120


def safe_name(name: str, default: str = "case") -> str:
    """A name as part of a file name (:func:`pipeline.file_names.slug`), cut by bytes: a case named
    in 90 letters of four bytes each (a name within the 100 characters a case may have) could not
    make its photos' folder, cut at 80 characters ("File name too long", a sweep)."""
    return slug(name, NAME_BYTES, default)
