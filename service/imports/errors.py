"""Why an activity file cannot be imported: 422 for a file that is not a usable activity, 413 for
one that decompresses past the cap. Messages say exactly what is wrong with the file."""

from __future__ import annotations

from service.errors import PayloadTooLarge, Unprocessable

_FILE = ("body", "file")


class ImportFileError(Unprocessable):
    """The uploaded file is not a usable GPX, TCX or FIT activity (422, `loc` = the file field)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail, loc=_FILE)


class DecompressedTooLarge(PayloadTooLarge):
    """A gzip-compressed upload inflates past the decompressed-size cap (a gzip bomb)."""


# the words a 422 uses for an activity without any usable timestamp (and no duration_s given)
NO_TIMES = {
    "gpx": "GPX has no track with times",
    "tcx": "TCX activity has no trackpoint with times",
    "fit": "FIT file has no records with times",
}


def no_times(file_format: str) -> ImportFileError:
    """The 422 for a file whose activity has no times when the caller gave no `duration_s`."""
    return ImportFileError(NO_TIMES.get(file_format, "the file has no times"))
