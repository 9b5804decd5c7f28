from typing import Annotated

from fastapi import Depends, Path

from documents import Exercise
from service.exercises import service as exercises
from service.ids import object_id_or_404
from service.security import OptionalUser


async def exercise_or_404(
    exercise_id: Annotated[str, Path(description="Exercise id")], viewer: OptionalUser
) -> Exercise:
    """A public exercise, or the caller's own private one (anyone else's is a 404)."""
    return await exercises.visible(object_id_or_404(exercise_id, "Exercise"), viewer)


ExerciseDep = Annotated[Exercise, Depends(exercise_or_404)]
