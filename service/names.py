"""Re-key names stored before NFKC: `name_key` recomputed with `validation.name_key`.

Names stored before keys were NFKC-normalised (`ｆｕｌｌwidth` keyed as itself, not as
`fullwidth`) can no longer be found by their normalised form. This recomputes the key of users,
custom teams and athletes; a key whose new form belongs to someone else already (two legacy
names that now collide) is left as it was and reported, for an admin to rename one of them.
Used by `python -m scripts.rekey_names`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from beanie import Document
from pymongo.errors import DuplicateKeyError

from documents import Athlete, Team, User
from service.validation import name_key


@dataclass
class Rekeyed:
    collection: str
    stale: int = 0  # keys not in today's form
    fixed: int = 0
    clashes: list[str] = field(default_factory=list)  # names whose new key is taken


# city teams are keyed "city:<slug>" (ASCII), not by their name
_SCOPES: tuple[tuple[type[Document], dict[str, Any]], ...] = (
    (User, {}),
    (Team, {"kind": "custom"}),
    (Athlete, {}),
)


async def rekey(*, repair: bool) -> list[Rekeyed]:
    """Count (and with `repair`, fix) the stored name keys not in today's form."""
    reports = []
    for document, criteria in _SCOPES:
        collection = document.get_motor_collection()
        report = Rekeyed(collection.name)
        cursor = collection.find(criteria, {"name": 1, "name_key": 1}).sort("_id", 1)
        async for doc in cursor:
            key = name_key(doc["name"])
            if doc.get("name_key") == key:
                continue
            report.stale += 1
            if not repair:
                continue
            try:
                # conditional on the key read: a rename meanwhile wrote a fresh key already
                await collection.update_one(
                    {"_id": doc["_id"], "name_key": doc.get("name_key")},
                    {"$set": {"name_key": key}},
                )
                report.fixed += 1
            except DuplicateKeyError:
                report.clashes.append(doc["name"])
        reports.append(report)
    return reports
