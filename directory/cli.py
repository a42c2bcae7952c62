"""Command-line tools: ``flask seed``, ``flask create-user`` (run from the repository root)."""

from __future__ import annotations

import secrets
import time
from pathlib import Path

import click
from flask import Flask, current_app
from flask_migrate import upgrade
from sqlalchemy import func, select

from directory.accounts.models import ROLES, User
from directory.accounts.services import UserError, create_user
from directory.api.cli import export_hsds_command, import_hsds_command
from directory.backup import audit_verify_command, backup_command, restore_command
from directory.clock import local_today
from directory.demo import delete_demo_data, find_demo_data
from directory.extensions import db
from directory.files import write_private_text
from directory.models_base import id_from_key
from directory.notifications.cli import send_digests_command, send_notifications_command
from directory.referrals.history import history_start, load_history
from directory.referrals.notices import queue_reminders_command
from directory.referrals.seed import load_demo_clients
from directory.reports.summary import monthly_summaries_command
from directory.schema import schema_problem, schema_state
from directory.search.cli import apply_search_changes, reindex_command, search_check_command, search_sync_command
from directory.seed import SeedError, load_seed, read_yaml


def register_cli(app: Flask) -> None:
    app.cli.add_command(audit_verify_command)
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
    app.cli.add_command(seed_command)
    app.cli.add_command(delete_demo_data_command)
    app.cli.add_command(create_user_command)
    app.cli.add_command(reindex_command)
    app.cli.add_command(search_check_command)
    app.cli.add_command(search_sync_command)
    app.cli.add_command(import_hsds_command)
    app.cli.add_command(export_hsds_command)
    app.cli.add_command(monthly_summaries_command)
    app.cli.add_command(send_notifications_command)
    app.cli.add_command(send_digests_command)
    app.cli.add_command(queue_reminders_command)


@click.command("seed")
@click.option("--no-users", is_flag=True, help="Load only the catalog, not the demo users, clients and history.")
@click.option("--without-history", is_flag=True, help="Skip the year of demo referral history.")
@click.option(
    "--as-of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="The day the demo data is dated from (YYYY-MM-DD; default: today). The history covers the 12 months "
    "up to the day before.",
)
def seed_command(no_users: bool, without_history: bool, as_of) -> None:
    """Load the demo catalog (and demo users, clients and a year of referral history) from seed_data/.

    Safe to run again: same rows. An empty database is created first (the migrations, as `flask db
    upgrade` runs them). Everything but the catalog is demo data: `flask delete-demo-data` removes it."""
    _ensure_schema()
    today = as_of.date() if as_of else local_today()
    seed_dir = Path(current_app.config["SEED_DIR"])
    click.echo(f"Loading demo data from {seed_dir} …")
    report = load_seed(seed_dir, progress=lambda name: click.echo(f"  {name}"))
    logins = [] if no_users else seed_demo_users(seed_dir / "users.yaml", report.errors)
    clients, history, history_s = 0, None, 0.0
    if not no_users:
        clients = load_demo_clients(seed_dir / "clients.yaml", report.errors, today)
        if not without_history:
            click.echo("  a year of demo referral history")
            started = time.perf_counter()
            history = load_history(today, current_app.config["TIMEZONE"])
            history_s = time.perf_counter() - started
    db.session.commit()
    apply_search_changes()

    created = ", ".join(f"{k} {v}" for k, v in sorted(report.created.items())) or "nothing"
    updated = ", ".join(f"{k} {v}" for k, v in sorted(report.updated.items())) or "nothing"
    click.echo(f"Created: {created}.")
    click.echo(f"Updated: {updated}.")
    if clients:
        click.echo(f"Demo clients created: {clients}.")
    if history is not None and history.skipped:
        click.echo("Demo referral history: already loaded (kept as it is).")
    elif history is not None:
        rows = history.rows
        click.echo(
            f"Demo referral history: {rows['client']} clients, {rows['need']} needs, {rows['referral']} referrals, "
            f"{rows['attempt']} attempts from {history_start(today).isoformat()} to the day before "
            f"{today.isoformat()} ({history_s:.1f} s)."
        )
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


DEMO_ROW_NAMES = {
    "client": "clients",
    "need": "needs",
    "consent": "consents",
    "referral": "referrals",
    "consent_override": "consent overrides",
    "attempt": "outreach attempts",
    "refusal": "refusal report rows",
}


def _describe_demo_data(found) -> list[str]:
    rows = ", ".join(f"{label} {found.rows.get(name, 0)}" for name, label in DEMO_ROW_NAMES.items())
    lines = [f"  {rows}"]
    if found.caseworkers:
        lines.append(f"  caseworkers of the demo history (deleted): {', '.join(found.caseworkers)}")
    if found.logins:
        lines.append(f"  demo logins (deactivated): {', '.join(found.logins)}")
    return lines


@click.command("delete-demo-data")
@click.option("--dry-run", is_flag=True, help="Only show what would be removed.")
@click.option("--keep-logins", is_flag=True, help="Leave the demo logins of seed_data/users.yaml active.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def delete_demo_data_command(dry_run: bool, keep_logins: bool, yes: bool) -> None:
    """Remove the demo clients and referral history (and deactivate the demo logins) before going live.

    Real records are not touched; the catalog stays. One transaction: all of it, or nothing. The hash
    chains still verify afterwards (`flask audit-verify`): demo attempts are outside them."""
    seed_dir = Path(current_app.config["SEED_DIR"])
    found = find_demo_data(seed_dir, logins=not keep_logins)
    db.session.rollback()
    if found.kept_clients:
        click.echo(
            f"{found.kept_clients} demo client(s) stay: their outreach attempts are in the hash chain "
            "(loaded before demo rows were kept outside it)."
        )
    if found.empty:
        click.echo("No demo data to remove.")
        return
    click.echo("Demo data to remove:" if not dry_run else "Demo data that would be removed (dry run):")
    for line in _describe_demo_data(found):
        click.echo(line)
    if dry_run:
        return
    if not yes:
        click.confirm("Remove it now?", abort=True)
    removed = delete_demo_data(seed_dir, logins=not keep_logins)
    db.session.commit()
    click.echo("Removed:")
    for line in _describe_demo_data(removed):
        click.echo(line)
    admins = db.session.scalar(
        select(func.count()).select_from(User).where(User.role == "admin", User.active.is_(True))
    )
    if not admins:
        click.echo("No active admin is left: create one with `flask create-user NAME --role admin`.")


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
