from datetime import datetime

from pydantic import BaseModel

from service.posts.subjects import UserRef


class LikeRead(BaseModel):
    """Who liked a post, run or workout, and when."""

    user: UserRef
    created_at: datetime
