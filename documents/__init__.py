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
from documents.goal import Goal, WeekTotals
from documents.login_failure import LoginFailure
from documents.quota import DailyQuota
from documents.record import BestEffort, StrengthRecord, StrengthSummary
from documents.run import BoardTotal, IdempotencyKey, Run, RunRoute, RunSlotLease, ScoreBucket
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
]

__all__ = [
    "DOCUMENTS",
    "ActivityImport",
    "ActivityTotals",
    "Athlete",
    "Badge",
    "BestEffort",
    "BoardTotal",
    "CalendarEntry",
    "Challenge",
    "ChallengeContribution",
    "ChallengeGroup",
    "ChallengeParticipant",
    "City",
    "Competition",
    "DailyQuota",
    "Event",
    "Exercise",
    "Follow",
    "Goal",
    "IdempotencyKey",
    "Invitation",
    "LoginFailure",
    "Membership",
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
