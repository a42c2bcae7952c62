"""Command-line tools: ``flask seed``, ``flask create-user`` (run from the repository root)."""

from __future__ import annotations

import secrets
from pathlib import Path

import click
from flask import Flask, current_app
from flask_migrate import upgrade
from sqlalchemy import select

from directory.accounts.models import ROLES, User
from directory.accounts.services import UserError, create_user
from directory.api.cli import export_hsds_command, import_hsds_command
from directory.backup import audit_verify_command, backup_command, restore_command
from directory.clock import local_today
from directory.extensions import db
from directory.files import write_private_text
from directory.models_base import id_from_key
from directory.referrals.seed import load_demo_clients
from directory.schema import schema_problem, schema_state
from directory.search.cli import apply_search_changes, reindex_command, search_check_command, search_sync_command
from directory.seed import SeedError, load_seed, read_yaml


def register_cli(app: Flask) -> None:
    app.cli.add_command(audit_verify_command)
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
    app.cli.add_command(seed_command)
    app.cli.add_command(create_user_command)
    app.cli.add_command(reindex_command)
    app.cli.add_command(search_check_command)
    app.cli.add_command(search_sync_command)
    app.cli.add_command(import_hsds_command)
    app.cli.add_command(export_hsds_command)


@click.command("seed")
@click.option("--no-users", is_flag=True, help="Load only the catalog, not the demo users and clients.")
def seed_command(no_users: bool) -> None:
    """Load the demo catalog (and demo users and clients) from seed_data/. Safe to run again: same rows.

    An empty database is created first (the migrations, as `flask db upgrade` runs them)."""
    _ensure_schema()
    seed_dir = Path(current_app.config["SEED_DIR"])
    click.echo(f"Loading demo data from {seed_dir} …")
    report = load_seed(seed_dir, progress=lambda name: click.echo(f"  {name}"))
    logins = [] if no_users else seed_demo_users(seed_dir / "users.yaml", report.errors)
    clients = 0
    if not no_users:
        clients = load_demo_clients(seed_dir / "clients.yaml", report.errors, local_today())
    db.session.commit()
    apply_search_changes()

    created = ", ".join(f"{k} {v}" for k, v in sorted(report.created.items())) or "nothing"
    updated = ", ".join(f"{k} {v}" for k, v in sorted(report.updated.items())) or "nothing"
    click.echo(f"Created: {created}.")
    click.echo(f"Updated: {updated}.")
    if clients:
        click.echo(f"Demo clients created: {clients}.")
    if report.kept:
        click.echo(f"Kept {report.kept} listing(s) edited in the app.")
    for error in report.errors:
        click.secho(f"  error: {error}", fg="red", err=True)
    if report.errors:
        click.secho(f"{len(report.errors)} bad record(s) skipped; the rest was loaded.", fg="yellow", err=True)
    if logins:
        click.echo("Demo logins (also in instance/demo-logins.txt):")
        for line in logins:
            click.echo(f"  {line}")


def _ensure_schema() -> None:
    """Create the tables of an empty database; refuse one that is behind or ahead of the code."""
    state = schema_state()
    if state.empty:
        click.echo("The database is empty: creating its tables (flask db upgrade) …")
        upgrade()
        return
    problem = schema_problem(state)
    if problem:
        raise click.ClickException(problem)


def seed_demo_users(path: Path, errors: list[str]) -> list[str]:
    """Create the demo users that do not exist yet; return 'role  username  password' lines."""
    if not path.exists():
        return []
    password_file = Path(current_app.instance_path) / "demo-logins.txt"
    known = {}
    if password_file.exists():
        for line in password_file.read_text(encoding="utf-8").splitlines():
            parts = line.split()
            if len(parts) == 3:
                known[parts[1]] = parts[2]
    lines = []
    for record in read_yaml(path).get("users") or []:
        username = record.get("username")
        try:
            org_key = record.get("organization")
            org_id = id_from_key("organization", org_key) if org_key else None
            existing = db.session.scalar(select(User).filter_by(username=username))
            if existing is None:
                password = current_app.config.get("DEMO_PASSWORD") or secrets.token_urlsafe(9)
                create_user(username, password, record.get("role"), record.get("display_name"), org_id)
                known[username] = password
            password = known.get(username, "(unchanged)")
            lines.append(f"{record.get('role')}  {username}  {password}")
        except (UserError, SeedError) as exc:
            errors.append(f"{path.name}:{record.get('__line__', '?')} [{username}]: {exc}")
    write_private_text(password_file, "\n".join(lines) + "\n")  # passwords: the owner's eyes only
    return lines


@click.command("create-user")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), required=True, help="What the user may do.")
@click.option("--name", "display_name", help="Name shown in the app (defaults to the username).")
@click.option("--organization", "organization_id", help="Organization id (agency staff only).")
@click.option("--email", help="Email address.")
@click.password_option(help="At least 8 characters and hard to guess (zxcvbn score 3+; prompted if omitted).")
def create_user_command(username, role, display_name, organization_id, email, password) -> None:
    """Create a user who can log in."""
    try:
        user = create_user(username, password, role, display_name, organization_id, email)
    except UserError as exc:
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"Created {user.role} '{user.username}'.")
