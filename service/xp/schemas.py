from datetime import datetime

from pydantic import BaseModel

from documents.xp import XpKind


class XpEntryRead(BaseModel):
    id: str
    kind: XpKind
    source_id: str
    amount: int
    at: datetime
    formula_version: int
    updated_at: datetime
