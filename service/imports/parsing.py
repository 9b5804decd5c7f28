"""`parse()`: the bytes of an uploaded activity file → `ParsedFile`. Pure: no database.

The format comes from the content, never from a file name: gzip by its magic bytes (inflated
in chunks up to a cap), FIT by `.FIT` at bytes 8-12, XML by its root element (`gpx` or
`TrainingCenterDatabase`). XML with a DOCTYPE or ENTITY declaration is refused before any parser
sees it, and TCX (and GPX that gpxpy refuses) goes through defusedxml.
"""

from __future__ import annotations

import hashlib
import zlib
from datetime import datetime

from documents.clock import utcnow
from service.imports import fit, gpx, tcx, xmlsafe
from service.imports.errors import DecompressedTooLarge, ImportFileError
from service.imports.model import FileFormat, ParsedActivity, ParsedFile
from service.imports.track import Notes, RawActivity, finish

GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 20
NOT_ACTIVITY_FILE = "not a GPX, TCX or FIT file"


def gunzip(content: bytes, *, max_bytes: int) -> bytes:
    """Inflate gzip data (every member), stopping as soon as the output passes `max_bytes`."""
    out = bytearray()
    data = content
    while True:
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        pending = data
        try:
            while not inflater.eof:
                chunk = inflater.decompress(pending, max_bytes + 1 - len(out))
                out += chunk
                if len(out) > max_bytes:
                    raise _too_large(max_bytes)
                pending = inflater.unconsumed_tail
                if not pending and not chunk:  # input used up, nothing left to flush
                    break
        except zlib.error:
            raise ImportFileError("corrupt gzip data") from None
        if not inflater.eof:
            raise ImportFileError("truncated gzip file")
        data = inflater.unused_data
        # padding after the last member (some tools write zeros): nothing more to read
        if not data.startswith(GZIP_MAGIC):
            return bytes(out)


def _too_large(max_bytes: int) -> DecompressedTooLarge:
    size = f"{max_bytes / (1 << 20):g} MiB" if max_bytes >= 1 << 20 else f"{max_bytes} bytes"
    return DecompressedTooLarge(
        f"the file decompresses to more than {size} (MAX_DECOMPRESSED_BYTES): refused"
    )


def parse(
    content: bytes, *, max_decompressed_bytes: int, now: datetime | None = None
) -> ParsedFile:
    """Measure every activity of the file (one per GPX, per TCX `<Activity>`, per FIT session).

    Raises ImportFileError (422) for a file that is no usable activity and DecompressedTooLarge
    (413) when it inflates past `max_decompressed_bytes`. An activity without any valid time
    comes back with `started_at` None: the caller decides (a given `duration_s`, or the 422 of
    `errors.no_times`).
    """
    if content.startswith(GZIP_MAGIC):
        content = gunzip(content, max_bytes=max_decompressed_bytes)
    elif len(content) > max_decompressed_bytes:
        raise _too_large(max_decompressed_bytes)
    if not content.strip():
        raise ImportFileError("the file is empty")
    sha256 = hashlib.sha256(content).hexdigest()
    file_format: FileFormat
    raws: list[RawActivity]
    if fit.is_fit(content):
        file_format, raws = "fit", fit.read(content)
    elif xmlsafe.looks_like_xml(content):
        text = xmlsafe.decode(content)
        xmlsafe.refuse_dtd(text)
        root = xmlsafe.root_name(text)
        if root == "gpx":
            file_format, raws = "gpx", [gpx.read(text)]
        elif root == "TrainingCenterDatabase":
            file_format, raws = "tcx", tcx.read(text)
        else:
            what = f"an XML document of <{root}>" if root else "an XML document"
            raise ImportFileError(f"{NOT_ACTIVITY_FILE}: {what}")
    else:
        raise ImportFileError(NOT_ACTIVITY_FILE)
    notes = Notes()
    moment = now or utcnow()
    activities: list[ParsedActivity] = []
    for raw in raws:
        activity = finish(raw, now=moment, notes=notes)
        if activity is not None:
            activities.append(activity)
    if not activities:
        raise ImportFileError(f"{file_format.upper()} file has no usable activity")
    return ParsedFile(
        format=file_format, sha256=sha256, activities=activities, warnings=notes.warnings()
    )
