"""In-process domain hooks: the one place features attach to run and user changes.

Runs and workouts announce recorded/changed/deleted; accounts announce user updated/deleted.
Later features (XP, badges, challenges, goals)
connect handlers here instead of editing the announcing code.
Handlers run in connection order, awaited, after the announcing change is stored.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

Handler = Callable[..., Awaitable[None]]


@dataclass
class Hook:
    name: str
    handlers: list[Handler] = field(default_factory=list)

    def connect(self, handler: Handler) -> Handler:
        if handler not in self.handlers:
            self.handlers.append(handler)
        return handler

    async def emit(self, **payload: Any) -> None:
        for handler in list(self.handlers):
            await handler(**payload)


# run_recorded(run=Run[, route=dict]); run_changed(before=Run, after=Run); run_deleted(run=Run)
# `route`, when given, is the run's stored `run_routes` document (as inserted, read-only) so a
# listener need not read it back (an imported track: up to 20k points); listeners that do not
# use it take `**_`
run_recorded = Hook("run.recorded")
run_changed = Hook("run.changed")
run_deleted = Hook("run.deleted")
# runs_deleted(user=User, runs=list[Run]): a batch of a user's runs deleted together (account
# deletion); each run is also announced with run_deleted
runs_deleted = Hook("runs.deleted")
# workout_recorded(workout=Workout); workout_changed(before=Workout, after=Workout);
# workout_deleted(workout=Workout): workouts announce like runs (they earn no board score)
workout_recorded = Hook("workout.recorded")
workout_changed = Hook("workout.changed")
workout_deleted = Hook("workout.deleted")
# workouts_deleted(user=User, workouts=list[Workout]): a batch of a user's workouts deleted
# together (account deletion); each workout is also announced with workout_deleted
workouts_deleted = Hook("workouts.deleted")
# xp_changed(user_id, delta, xp, level, kind, source_id, at): a ledger entry moved a user's XP
# (service.xp.ledger); badges (level rule) and `xp` challenges listen
xp_changed = Hook("xp.changed")
# user_updated(before=User, after=User); user_deleted(user=User)
user_updated = Hook("user.updated")
user_deleted = Hook("user.deleted")
# team_updated(before=Team, after=Team) after a rename, description, visibility or owner change;
# team_deleted(team=Team) once the team is gone; city_updated(before=City, after=City) after a
# rename or country change (a rename also renames its city team, without a team_updated)
team_updated = Hook("team.updated")
team_deleted = Hook("team.deleted")
city_updated = Hook("city.updated")
# badge_earned(user_id=ObjectId, badge=BadgeRead, at=datetime, source=BadgeSource | None): a
# badge awarded (once per user and badge; service.badges), after its XP was credited
badge_earned = Hook("badge.earned")
# challenge_completed(user_id=ObjectId, challenge_id=ObjectId, challenge=ChallengeRead,
# at=datetime): a participant
# completed a challenge (collective: every participant when the sum made the goal), after its
# XP was settled; challenge_withdrawn(...same...): an edit or delete dropped it below the goal
# before the end (or the participant left), XP withdrawn (service.challenges)
challenge_completed = Hook("challenge.completed")
challenge_withdrawn = Hook("challenge.withdrawn")
# goal_met(user_id=ObjectId, metric=str, week=date (Monday), at=datetime, target=float,
# value=float): a weekly goal reached in the current week, after GOAL_XP was credited
# (service.goals; once per goal and week, again only if an edit withdrew it meanwhile)
goal_met = Hook("goal.met")
# --- social (service.friends, service.posts, service.comments, service.likes, service.teams) ---
# friend_request_sent(request=FriendRequest): a new pending request (not for an auto-accept)
# friendship_started(friendship=Friendship, requester_id=ObjectId, accepter_id=ObjectId, at=dt)
# friendship_ended(user_ids=tuple[ObjectId, ObjectId]): unfriended, or ended by a block
# user_blocked(blocker_id=ObjectId, blocked_id=ObjectId, at=datetime)
friend_request_sent = Hook("friend_request.sent")
friendship_started = Hook("friendship.started")
friendship_ended = Hook("friendship.ended")
user_blocked = Hook("user.blocked")
# post_created(post=Post); post_changed(before=Post, after=Post); post_deleted(post=Post)
post_created = Hook("post.created")
post_changed = Hook("post.changed")
post_deleted = Hook("post.deleted")
# comment_added(comment=Comment); comment_deleted(comment=Comment)
# like_added(like=Like); like_removed(like=Like) (only when a like was really added/removed)
comment_added = Hook("comment.added")
comment_deleted = Hook("comment.deleted")
like_added = Hook("like.added")
like_removed = Hook("like.removed")
# invitation_created(invitation=Invitation, team=Team): a team invited a user
invitation_created = Hook("invitation.created")
