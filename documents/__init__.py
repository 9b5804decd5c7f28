"""Beanie documents, one module per aggregate; DOCUMENTS is what init_beanie registers."""

from documents.activity_import import ActivityImport
from documents.badge import ActivityTotals, Badge, UserBadge
from documents.challenge import (
    Challenge,
    ChallengeContribution,
    ChallengeGroup,
    ChallengeParticipant,
)
from documents.city import City
from documents.competition import Athlete, CalendarEntry, Competition, Event, Follow
from documents.feed import FeedItem
from documents.goal import Goal, WeekTotals
from documents.login_failure import LoginFailure
from documents.notification import Notification
from documents.post import Comment, Like, Post
from documents.quota import DailyQuota
from documents.record import BestEffort, StrengthRecord, StrengthSummary
from documents.report import Report
from documents.run import BoardTotal, IdempotencyKey, Run, RunRoute, RunSlotLease, ScoreBucket
from documents.social import Block, FriendRequest, Friendship
from documents.team import Invitation, Membership, Team
from documents.user import User
from documents.workout import Exercise, Workout
from documents.xp import XpEntry

DOCUMENTS = [
    User,
    LoginFailure,
    DailyQuota,
    City,
    Team,
    Membership,
    Invitation,
    Run,
    RunRoute,
    ScoreBucket,
    BoardTotal,
    IdempotencyKey,
    RunSlotLease,
    ActivityImport,
    Competition,
    Event,
    Athlete,
    CalendarEntry,
    Follow,
    Goal,
    WeekTotals,
    Exercise,
    Workout,
    BestEffort,
    StrengthSummary,
    StrengthRecord,
    XpEntry,
    Badge,
    UserBadge,
    ActivityTotals,
    Challenge,
    ChallengeParticipant,
    ChallengeContribution,
    ChallengeGroup,
    Friendship,
    FriendRequest,
    Block,
    Post,
    Comment,
    Like,
    Notification,
    Report,
    FeedItem,
]

__all__ = [
    "DOCUMENTS",
    "ActivityImport",
    "ActivityTotals",
    "Athlete",
    "Badge",
    "BestEffort",
    "Block",
    "BoardTotal",
    "CalendarEntry",
    "Challenge",
    "ChallengeContribution",
    "ChallengeGroup",
    "ChallengeParticipant",
    "City",
    "Comment",
    "Competition",
    "DailyQuota",
    "Event",
    "Exercise",
    "FeedItem",
    "Follow",
    "FriendRequest",
    "Friendship",
    "Goal",
    "IdempotencyKey",
    "Invitation",
    "Like",
    "LoginFailure",
    "Membership",
    "Notification",
    "Post",
    "Report",
    "Run",
    "RunRoute",
    "RunSlotLease",
    "ScoreBucket",
    "StrengthRecord",
    "StrengthSummary",
    "Team",
    "User",
    "UserBadge",
    "WeekTotals",
    "Workout",
    "XpEntry",
]
