"""``flask import-hsds PATH`` and ``flask export-hsds OUT`` (registered in directory/cli.py)."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app

from directory.api.hsds_export import export_catalog
from directory.api.hsds_import import OBJECT_TYPES, import_hsds
from directory.extensions import db
from directory.search.cli import apply_search_changes

PROGRESS_FROM = 200  # records; smaller inputs import without a progress bar


class _Progress:
    """A progress bar for large inputs, shown once the total is known to be large."""

    def __init__(self, label: str, threshold: int = PROGRESS_FROM):
        self.label = label
        self.threshold = threshold
        self.bar = None

    def __call__(self, done: int, total: int) -> None:
        if total < self.threshold:
            return
        if self.bar is None:
            self.bar = click.progressbar(
                length=total, label=self.label, show_pos=True, file=click.get_text_stream("stderr")
            )
            self.bar.__enter__()
        self.bar.update(done - self.bar.pos)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


def _counts(counter) -> str:
    return ", ".join(f"{kind} {n}" for kind, n in sorted(counter.items())) or "nothing"


@click.command("import-hsds")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check and report everything, then roll back: nothing is saved.")
@click.option(
    "--type",
    "forced_type",
    type=click.Choice(OBJECT_TYPES),
    help="What the top-level JSON objects are, when they cannot be told apart by their fields.",
)
@click.option(
    "--taxonomy-map",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="YAML file mapping other taxonomies' terms onto ours (default: seed_data/hsds_taxonomy_map.yaml).",
)
def import_hsds_command(path: Path, dry_run: bool, forced_type: str | None, taxonomy_map: Path | None) -> None:
    """Import Open Referral HSDS 3.0 data from PATH.

    PATH is a JSON file (a service, organization, location, service_at_location, taxonomy or
    taxonomy_term; a list of them; an API page with "contents"; or HSDS tabular JSON), a CSV
    datapackage (its datapackage.json, or the directory holding it), a directory of JSON files (as
    written by export-hsds into OUT/json), or one HSDS CSV table named as in the datapackage.

    Records are upserted by id: importing again updates and never duplicates. Taxonomy terms are mapped
    onto ours by the mapping file or by the same name; others are kept as terms of their own taxonomy.
    Each invalid record is reported as "file:line [id]: reason" (JSON: "file:/pointer") and skipped
    without leaving anything behind; the rest is imported. Parts of HSDS the catalog does not model
    (contacts, funding, service areas …) are counted and skipped. Imported services are searchable at
    once. Exit status 1 when some records were invalid.
    """

    default_map = Path(current_app.config["SEED_DIR"]) / "hsds_taxonomy_map.yaml"
    progress = _Progress("Importing records")
    click.echo(f"Importing HSDS from {path}{' (dry run)' if dry_run else ''} …")
    try:
        report, source = import_hsds(
            path, forced_type=forced_type, term_map=taxonomy_map or default_map, progress=progress
        )
    except BaseException:
        db.session.rollback()
        raise
    finally:
        progress.close()
    if dry_run:
        db.session.rollback()
    else:
        db.session.commit()
        apply_search_changes()

    click.echo(f"Read {source.description or path}: {report.records} record(s).")
    click.echo(f"Created: {_counts(report.created)}.")
    click.echo(f"Updated: {_counts(report.updated)}.")
    click.echo(f"Unchanged: {report.unchanged}.")
    if report.terms_mapped or report.terms_kept:
        click.echo(
            f"Taxonomy terms: {report.terms_mapped} mapped onto ours, {report.terms_kept} kept in their own taxonomy."
        )
    if report.not_modelled:
        click.echo(f"Not modelled, skipped: {_counts(report.not_modelled)}.")
    for warning in report.warnings:
        click.secho(f"  warning: {warning}", fg="yellow", err=True)
    for error in report.errors:
        click.secho(f"  error: {error}", fg="red", err=True)
    if report.skipped_with_parent:
        click.secho(f"{report.skipped_with_parent} record(s) skipped with their invalid parent.", err=True)
    if report.errors:
        click.secho(f"{len(report.errors)} invalid record(s) skipped; the rest was imported.", fg="yellow", err=True)
    if dry_run:
        click.echo("Dry run: nothing was saved.")
    if report.errors:
        raise SystemExit(1)


@click.command("export-hsds")
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
def export_hsds_command(out: Path) -> None:
    """Export the whole catalog as Open Referral HSDS 3.0 into the directory OUT.

    Writes OUT/datapackage.json with one CSV per HSDS table (tables we do not model are written with
    their header only) and OUT/json/ with taxonomies.json, taxonomy_terms.json, locations.json (the
    locations of no organization) and organizations.json (fully nested organizations with their
    locations and services). Files of the same names are replaced. Fields HSDS has no place for
    (accepting referrals, structured eligibility rules, English names …) travel as attributes of the
    "Lianjie extension fields" taxonomy, so that import-hsds gives back the same catalog. No client or
    referral data is exported.
    """
    progress = _Progress("Exporting organizations", threshold=1)
    try:
        report = export_catalog(out, progress=progress)
    finally:
        progress.close()
    rows = {k: v for k, v in report.rows.items() if v}
    click.echo(f"Wrote {len(report.files)} file(s) to {out}: {_counts(rows)} row(s).")
