"""The user's data export (`GET /users/me/export`) and the registry features add files to."""

from service.export.registry import ExportContext, ExportFile, register
from service.export.service import json_array_file, json_file, read_batches

__all__ = [
    "ExportContext",
    "ExportFile",
    "json_array_file",
    "json_file",
    "read_batches",
    "register",
]
