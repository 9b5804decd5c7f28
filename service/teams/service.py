"""Teams (the seeds' "groups"): custom teams, membership rules, invitations."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from beanie import PydanticObjectId, SortDirection
from pymongo.errors import DuplicateKeyError

from documents import City, Invitation, Membership, Team, User
from documents.clock import utcnow
from service import events, queries, validation
from service.cities.slug import slugify
from service.errors import Conflict, Forbidden, NotFound, Unprocessable
from service.pagination import Page, PageParams, fetch_page
from service.quotas import claim as claim_quota
from service.settings import Settings
from service.teams.membership import add_member, membership, remove_member
from service.teams.schemas import (
    InvitationRead,
    MemberRead,
    MemberUser,
    TeamCreate,
    TeamRead,
    TeamSummary,
    TeamUpdate,
    UserTeamRead,
)
from service.updates import update_or_404

INVITATION_DAYS = 14
# a substring search of team names scans them: it gives up past this (503)
SCAN_MAX_TIME_MS = 2000


async def get(team_id: PydanticObjectId) -> Team:
    team = await Team.get(team_id)
    if team is None:
        raise NotFound(f"Team {team_id} not found")
    return team


def team_name_key(name: str) -> str:
    """Team names are unique in this form: NFKC, whitespace collapsed, casefolded."""
    return validation.name_key(name)


def to_read(team: Team) -> TeamRead:
    return TeamRead(
        id=str(team.id),
        name=team.name,
        description=team.description,
        kind=team.kind,
        city_id=str(team.city_id) if team.city_id else None,
        visibility=team.visibility,
        owner_id=str(team.owner_id) if team.owner_id else None,
        members=team.members_count,
        created_at=team.created_at,
    )


def _is_admin(user: User) -> bool:
    return user.role == "admin"


def _require_owner_or_admin(team: Team, actor: User) -> None:
    if team.owner_id != actor.id and not _is_admin(actor):
        raise Forbidden("Only the team owner or an admin can do this")


def _require_custom(team: Team, action: str) -> None:
    if team.kind == "city":
        raise Forbidden(f"City teams cannot be {action} directly; set your home city instead")


async def _ensure_name_free(name: str, exclude: PydanticObjectId | None = None) -> None:
    if team_name_key(name).startswith("city:"):
        # "city:<slug>" keys belong to city teams: such a custom team would become a city's team
        raise Unprocessable("Team names cannot start with 'city:'", loc=("body", "name"))
    other = await Team.find_one(Team.name_key == team_name_key(name))
    if other is not None and other.id != exclude:
        raise Conflict(f"A team named {name!r} already exists")


async def _teams_owned(user_id: PydanticObjectId | None, *, limit: int) -> int:
    return await Team.get_motor_collection().count_documents({"owner_id": user_id}, limit=limit)


def _too_many_teams(who: str, cap: int) -> Conflict:
    # `who` with its verb: "You already own", "The new owner already owns"
    return Conflict(f"{who} {cap} teams, the most allowed (MAX_TEAMS_OWNED)")


async def _check_may_own_another(user: User, settings: Settings, *, who: str) -> None:
    """A user owns at most MAX_TEAMS_OWNED teams (admins are exempt)."""
    cap = settings.max_teams_owned
    if not _is_admin(user) and await _teams_owned(user.id, limit=cap) >= cap:
        raise _too_many_teams(who, cap)


async def create(*, data: TeamCreate, actor: User, settings: Settings) -> Team:
    city_id = None
    if data.city_id is not None:
        city = await City.get(PydanticObjectId(data.city_id))
        if city is None:
            raise Unprocessable(f"Unknown city_id {data.city_id}", loc=("body", "city_id"))
        city_id = city.id
    await _ensure_name_free(data.name)
    await _check_may_own_another(actor, settings, who="You already own")
    team = Team(
        name=" ".join(data.name.split()),
        name_key=team_name_key(data.name),
        description=data.description or None,
        kind="custom",
        city_id=city_id,
        visibility=data.visibility,
        owner_id=actor.id,
        created_at=utcnow(),
    )
    try:
        await team.insert()
    except DuplicateKeyError as exc:
        raise Conflict(f"A team named {data.name!r} already exists") from exc
    cap = settings.max_teams_owned
    if not _is_admin(actor) and await _teams_owned(actor.id, limit=cap + 1) > cap:
        # parallel creations all passed the check above: each one that finds the cap exceeded
        # after its insert takes itself back, so the cap holds (at worst all of them retreat)
        await Team.get_motor_collection().delete_one({"_id": team.id})
        raise _too_many_teams("You already own", cap)
    assert team.id is not None and actor.id is not None
    await add_member(team_id=team.id, user_id=actor.id, role="owner")
    team.members_count = 1
    return team


async def search(
    *,
    city_id: PydanticObjectId | None,
    kind: str | None,
    query: str | None,
    page: PageParams,
    prefix: str | None = None,
) -> Page[TeamRead]:
    """Teams by name. `prefix` reads a range of the unique name_key index (the stored
    casefolded name, or "city:<slug>" for a city team); `query`, a substring, can only scan
    names, so it runs with a time limit (SCAN_MAX_TIME_MS) and answers 503 past it."""
    criteria: dict = {}
    if prefix and prefix.strip():
        starts = [team_name_key(prefix)]
        if slugify(prefix):
            starts.append(f"city:{slugify(prefix)}")
        criteria["$or"] = [{"name_key": {"$regex": f"^{re.escape(start)}"}} for start in starts]
    if city_id is not None:
        criteria["city_id"] = city_id
    if kind is not None:
        criteria["kind"] = kind
    if query and query.strip():
        criteria["name"] = {"$regex": re.escape(" ".join(query.split())), "$options": "i"}
    scan = SCAN_MAX_TIME_MS if "name" in criteria else None
    found = await fetch_page(queries.TEAMS, criteria, page, max_time_ms=scan)
    return found.page([to_read(t) for t in found.rows])


async def update(*, team: Team, changes: TeamUpdate, actor: User, settings: Settings) -> Team:
    _require_owner_or_admin(team, actor)
    before = team.model_copy()
    data = changes.model_dump(exclude_unset=True)
    if team.kind == "city" and set(data) - {"description"}:
        raise Forbidden("A city team only takes a new description; it carries its city's name")
    updates: dict = {}
    if data.get("name"):
        await _ensure_name_free(data["name"], exclude=team.id)
        updates["name"] = " ".join(data["name"].split())
        updates["name_key"] = team_name_key(data["name"])
    if "description" in data:
        updates["description"] = data["description"] or None
    if data.get("visibility"):
        updates["visibility"] = data["visibility"]
    new_owner = PydanticObjectId(data["owner_id"]) if data.get("owner_id") else team.owner_id
    if new_owner == team.owner_id:
        if updates:
            team = await update_or_404(
                team,
                {"$set": updates},
                what="Team",
                conflict="A team with this name already exists",
            )
            await events.team_updated.emit(before=before, after=team)
        return team
    team = await _transfer(team=team, new_owner=new_owner, updates=updates, settings=settings)
    await events.team_updated.emit(before=before, after=team)
    return team


async def _transfer(
    *, team: Team, new_owner: PydanticObjectId | None, updates: dict, settings: Settings
) -> Team:
    """Hand the team to a member, together with `updates`.

    The team moves only from the owner this request read (a concurrent transfer makes it a
    409), and the new owner's membership is marked first and put back if the move fails, so a
    team never has two owners.
    """
    assert team.id is not None
    target = await User.get(new_owner)
    if target is not None:
        await _check_may_own_another(target, settings, who="The new owner already owns")
    members = Membership.get_motor_collection()
    promoted = await members.update_one(
        {"team_id": team.id, "user_id": new_owner}, {"$set": {"role": "owner"}}
    )
    if target is None or not promoted.matched_count:
        raise Unprocessable("The new owner must be a member of the team", loc=("body", "owner_id"))
    try:
        moved = await update_or_404(
            team,
            {"$set": {**updates, "owner_id": new_owner}},
            where={"owner_id": team.owner_id},
            what="Team",
            conflict="A team with this name already exists",
            changed="The team changed owner meanwhile; read it again and retry",
        )
    except (Conflict, NotFound):
        await members.update_one(
            {"team_id": team.id, "user_id": new_owner}, {"$set": {"role": "member"}}
        )
        raise
    if team.owner_id is not None:
        await members.update_one(
            {"team_id": team.id, "user_id": team.owner_id}, {"$set": {"role": "member"}}
        )
    return moved


async def _delete_team(team: Team) -> None:
    await Membership.find(Membership.team_id == team.id).delete()
    await Invitation.find(Invitation.team_id == team.id).delete()
    await team.delete()
    # a join or an accepted invitation that slipped in before the team itself went: sweep again
    # (add_member takes back memberships of a team it finds gone)
    await Membership.find(Membership.team_id == team.id).delete()
    await events.team_deleted.emit(team=team)


async def delete(*, team: Team, actor: User) -> None:
    """Delete a custom team. Its runs still count for their runners and cities."""
    if team.kind == "city":
        raise Conflict("City teams cannot be deleted")
    _require_owner_or_admin(team, actor)
    await _delete_team(team)


async def join(*, team: Team, actor: User) -> tuple[Membership, bool]:
    """Join an open team; returns (membership, created)."""
    _require_custom(team, "joined")
    assert team.id is not None and actor.id is not None
    existing = await membership(team_id=team.id, user_id=actor.id)
    if existing is not None:
        return existing, False
    if team.visibility != "open":
        raise Forbidden("This team is invite-only")
    # a concurrent join by the same user may have won: then this one created nothing
    created = await add_member(team_id=team.id, user_id=actor.id)
    joined = await membership(team_id=team.id, user_id=actor.id)
    assert joined is not None
    return joined, created


async def remove(*, team: Team, user_id: PydanticObjectId, actor: User) -> None:
    """Leave (yourself) or remove a member (owner or admin)."""
    _require_custom(team, "left")
    if user_id != actor.id:
        _require_owner_or_admin(team, actor)
    assert team.id is not None
    if await membership(team_id=team.id, user_id=user_id) is None:
        raise NotFound("This user is not a member of the team")
    if user_id == team.owner_id:
        if team.members_count > 1:
            raise Conflict("The owner cannot leave while others remain; transfer ownership first")
        raise Conflict("The owner is the last member; delete the team instead")
    # the membership's role is what decides: a transfer to this user may have landed since the
    # team was read, and a team must not be left to an owner who is no longer a member
    if not await remove_member(team_id=team.id, user_id=user_id, unless_owner=True):
        if await membership(team_id=team.id, user_id=user_id) is None:
            raise NotFound("This user is not a member of the team")
        raise Conflict("The team was just handed to this member; transfer ownership first")


async def member_read(team_id: PydanticObjectId, user_id: PydanticObjectId) -> MemberRead:
    m = await membership(team_id=team_id, user_id=user_id)
    assert m is not None
    return (await _member_reads([m]))[0]


async def _member_reads(memberships: list[Membership]) -> list[MemberRead]:
    users = {
        u.id: u
        for u in await User.find({"_id": {"$in": [m.user_id for m in memberships]}}).to_list()
    }
    reads = []
    for m in memberships:
        user = users.get(m.user_id)
        if user is None:
            continue
        reads.append(
            MemberRead(
                user=MemberUser(
                    id=str(user.id),
                    name=user.name,
                    city_id=str(user.city_id) if user.city_id else None,
                ),
                role=m.role,
                joined_at=m.joined_at,
            )
        )
    return reads


async def members(*, team: Team, page: PageParams) -> Page[MemberRead]:
    # joined_at is stored to the millisecond: _id breaks ties in insertion order
    found = await fetch_page(queries.MEMBERS_OF_TEAM, {"team_id": team.id}, page)
    return found.page(await _member_reads(found.rows))


async def teams_of(*, user: User, page: PageParams) -> Page[UserTeamRead]:
    found = await fetch_page(queries.TEAMS_OF_USER, {"user_id": user.id}, page)
    rows = found.rows
    team_ids = [m.team_id for m in rows]
    teams = {t.id: t for t in await Team.find({"_id": {"$in": team_ids}}).to_list()}
    items = [
        UserTeamRead(**to_read(teams[m.team_id]).model_dump(), role=m.role, joined_at=m.joined_at)
        for m in rows
        if m.team_id in teams
    ]
    return found.page(items)


# --- invitations ------------------------------------------------------------------------


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def invitation_reads(invitations: list[Invitation]) -> list[InvitationRead]:
    teams = {
        t.id: t
        for t in await Team.find({"_id": {"$in": [i.team_id for i in invitations]}}).to_list()
    }
    return [
        InvitationRead(
            id=str(i.id),
            team=TeamSummary(id=str(i.team_id), name=teams[i.team_id].name),
            user_id=str(i.user_id),
            invited_by=str(i.invited_by),
            status=i.status,
            created_at=i.created_at,
            expires_at=i.expires_at,
        )
        for i in invitations
        if i.team_id in teams
    ]


async def invite(
    *, team: Team, user_id: PydanticObjectId, actor: User, settings: Settings
) -> Invitation:
    if team.kind == "city":
        raise Forbidden("Nobody is invited to a city team; it follows the home city")
    _require_owner_or_admin(team, actor)
    if await User.get(user_id) is None:
        raise NotFound(f"User {user_id} not found")
    assert team.id is not None and actor.id is not None
    if await membership(team_id=team.id, user_id=user_id) is not None:
        raise Conflict("This user is already a member")
    now = utcnow()
    pending = await Invitation.find_one(
        Invitation.team_id == team.id,
        Invitation.user_id == user_id,
        Invitation.status == "pending",
        Invitation.expires_at > now,
    )
    if pending is not None:
        raise Conflict("This user already has a pending invitation to this team")
    if not _is_admin(actor):
        cap = settings.max_invitations_per_day
        await claim_quota(
            action="invitations",
            user_id=actor.id,
            cap=cap,
            detail=f"You sent {cap} invitations today (UTC), the most allowed; try again tomorrow",
        )
    invitation = await Invitation(
        team_id=team.id,
        user_id=user_id,
        invited_by=actor.id,
        created_at=now,
        expires_at=now + timedelta(days=INVITATION_DAYS),
    ).insert()
    # Parallel invitations of one user to one team all passed the check above: each one that
    # finds another pending one after its insert takes itself back, so at most one stays.
    others = await Invitation.get_motor_collection().count_documents(
        {
            "team_id": team.id,
            "user_id": user_id,
            "status": "pending",
            "expires_at": {"$gt": now},
            "_id": {"$ne": invitation.id},
        },
        limit=1,
    )
    if others:
        await Invitation.get_motor_collection().delete_one({"_id": invitation.id})
        raise Conflict("This user already has a pending invitation to this team")
    await events.invitation_created.emit(invitation=invitation, team=team)
    return invitation


async def my_invitations(*, user: User, page: PageParams) -> Page[InvitationRead]:
    criteria = {
        "user_id": user.id,
        "status": "pending",
        "expires_at": {"$gt": utcnow()},
    }
    found = await fetch_page(queries.INVITATIONS_OF_USER, criteria, page)
    return found.page(await invitation_reads(found.rows))


async def invitation_for(*, invitation_id: PydanticObjectId, user: User) -> Invitation:
    """The caller's own invitation (others' are invisible: 404)."""
    invitation = await Invitation.get(invitation_id)
    if invitation is None or invitation.user_id != user.id:
        raise NotFound(f"Invitation {invitation_id} not found")
    return invitation


async def respond(*, invitation: Invitation, accept: bool) -> Invitation:
    if invitation.status != "pending":
        raise Conflict(f"This invitation was already {invitation.status}")
    if _aware(invitation.expires_at) <= utcnow():
        raise Conflict("This invitation has expired")
    team = await Team.get(invitation.team_id)
    if team is None:
        raise NotFound("The team of this invitation no longer exists")
    # only a pending invitation moves: a concurrent accept/decline cannot apply twice
    result = await Invitation.get_motor_collection().update_one(
        {"_id": invitation.id, "status": "pending"},
        {"$set": {"status": "accepted" if accept else "declined"}},
    )
    if result.modified_count == 0:
        raise Conflict("This invitation was already answered")
    invitation.status = "accepted" if accept else "declined"
    if accept:
        assert team.id is not None
        await add_member(team_id=team.id, user_id=invitation.user_id)
    return invitation


# --- account deletion ---------------------------------------------------------------------


async def _on_user_deleted(*, user: User) -> None:
    """Leave every team; an owned team passes to its longest-standing member or is deleted."""
    for m in await Membership.find(Membership.user_id == user.id).to_list():
        team = await Team.get(m.team_id)
        if team is not None and team.owner_id == user.id:
            successor = (
                await Membership.find(Membership.team_id == team.id, Membership.user_id != user.id)
                .sort([("joined_at", SortDirection.ASCENDING), ("_id", SortDirection.ASCENDING)])
                .first_or_none()
            )
            if successor is None:
                await _delete_team(team)
                continue
            # plain updates: a successor who leaves or a team deleted meanwhile is no error here
            await Membership.get_motor_collection().update_one(
                {"_id": successor.id}, {"$set": {"role": "owner"}}
            )
            await Team.get_motor_collection().update_one(
                {"_id": team.id, "owner_id": user.id}, {"$set": {"owner_id": successor.user_id}}
            )
        await remove_member(team_id=m.team_id, user_id=user.id)  # type: ignore[arg-type]
    await Invitation.find({"$or": [{"user_id": user.id}, {"invited_by": user.id}]}).delete()


events.user_deleted.connect(_on_user_deleted)
