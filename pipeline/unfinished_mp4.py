"""An MP4 or MOV recording whose index was never written: told from its top-level boxes.

An MP4 file keeps its frames in an ``mdat`` box and the index that says where each frame is (its
``moov`` box) after them, written when the recording is closed. A recorder that lost power, a camera
app that was killed, or a copy cut before its end leaves a file with frames and no index, which
FFmpeg refuses with "Invalid data found when processing input": an operator needs to know that
this is an unfinished recording, which repair tools (untrunc, recover_mp4) can rebuild with a
complete file of the same camera, and not damage of an unknown kind. The boxes are walked here
(their sizes and types only, a few reads) because FFmpeg says nothing more than that line.
"""

from __future__ import annotations

import struct
from pathlib import Path

MAX_BOXES = 10_000  # top-level boxes looked at (a real file has a handful)


def missing_index(path: Path) -> bool:
    """Whether ``path`` is an MP4/MOV file (an ``ftyp`` box first) with frames (``mdat``) and no index
    (``moov``) among its top-level boxes."""
    try:
        with open(path, "rb") as f:
            size_on_disk = path.stat().st_size
            types, at = [], 0
            while at + 8 <= size_on_disk and len(types) < MAX_BOXES:
                f.seek(at)
                size, kind = struct.unpack(">I4s", f.read(8))
                if size == 1:  # a 64-bit size follows the type
                    size = struct.unpack(">Q", f.read(8))[0]
                elif size == 0:  # the box runs to the end of the file
                    size = size_on_disk - at
                types.append(kind)
                if size < 8:
                    break
                at += size
    except (OSError, struct.error):
        return False
    return bool(types) and types[0] == b"ftyp" and b"mdat" in types and b"moov" not in types
