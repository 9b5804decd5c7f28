from typing import Annotated

from fastapi import Depends, Path

from documents import User
from service.accounts import service as accounts
from service.ids import object_id_or_404


async def user_or_404(user_id: Annotated[str, Path(description="User id")]) -> User:
    return await accounts.get(object_id_or_404(user_id, "User"))


UserDep = Annotated[User, Depends(user_or_404)]
