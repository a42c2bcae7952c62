"""Creating users (flush only; the caller commits)."""

from __future__ import annotations

from sqlalchemy import select

from directory.accounts.auth import new_session_token
from directory.accounts.models import ROLES, User
from directory.accounts.passwords import hash_password, password_problems
from directory.extensions import db

PROBLEM_TEXT = {
    "too_short": "the password must have at least 8 characters",
    "too_common": "the password is too common or contains the username",
    "too_weak": "the password is too easy to guess; use a longer one, for example three or four unrelated words",
}


class UserError(ValueError):
    pass


def create_user(
    username: str,
    password: str,
    role: str,
    display_name: str | None = None,
    organization_id: str | None = None,
    email: str | None = None,
) -> User:
    username = username.strip()
    if not username:
        raise UserError("the username is empty")
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}")
    if role == "agency_staff":
        # The catalog's Organization, reached through the relationship: accounts sit below the catalog.
        organization = User.organization.property.mapper.class_
        if not organization_id or db.session.get(organization, organization_id) is None:
            raise UserError("agency staff must belong to an existing organization")
    elif organization_id:
        raise UserError("only agency staff belong to an organization")
    if db.session.scalar(select(User.id).filter_by(username=username)) is not None:
        raise UserError(f"the username '{username}' is taken")
    problems = password_problems(password, username, [display_name, email])
    if problems:
        raise UserError("; ".join(PROBLEM_TEXT[p] for p in problems))
    user = User(
        username=username,
        display_name=display_name or username,
        email=email,
        password_hash=hash_password(password),
        role=role,
        organization_id=organization_id,
        session_token=new_session_token(),
    )
    db.session.add(user)
    db.session.flush()
    return user
