"""``flask reindex``, ``flask search-sync`` and ``flask search-check`` (registered in directory/cli.py), and
the index update the data-loading commands run after their commit."""

from __future__ import annotations

import click
from sqlalchemy import func, select

from directory.catalog.outbox import SearchChange
from directory.extensions import db
from directory.search.index import expected_doc_ids, get_index


def apply_search_changes() -> None:
    """Bring this server's index up to date after a command's commit, reporting instead of failing."""
    try:
        applied = get_index().catch_up()
    except Exception as exc:  # the database write stands; `flask search-sync` or the next search retries
        click.secho(f"Search index not updated ({exc}); run `flask search-sync` later.", fg="yellow", err=True)
    else:
        if applied:
            click.echo(f"Search index updated for {applied} service(s).")


@click.command("reindex")
def reindex_command() -> None:
    """Rebuild the search index from the database."""
    index = get_index(rebuild_stale=False)  # rebuilt once, here, with a progress bar
    with click.progressbar(length=1, label="Indexing services", show_pos=True) as bar:

        def progress(done: int, total: int) -> None:
            bar.length = total
            bar.update(done - bar.pos)
            if done == total:  # the index's segments are written after the last service is read
                bar.label = "Writing the index"
                bar.render_progress()

        count = index.rebuild(progress=progress)
    click.echo(f"Indexed {count} document(s) in {index.path}.")


@click.command("search-sync")
def search_sync_command() -> None:
    """Apply catalog changes not yet in this server's search index (safe to run any time)."""
    applied = get_index().catch_up()
    click.echo(f"Re-indexed {applied} service(s).")


@click.command("search-check")
def search_check_command() -> None:
    """Report differences between the database and the search index; exit 1 if there are any."""
    index = get_index()
    expected, indexed = expected_doc_ids(), index.indexed_doc_ids()
    missing, extra = sorted(expected - indexed), sorted(indexed - expected)
    pending = _pending_changes(index.cursor())
    for doc_id in missing:
        click.echo(f"missing from index: {doc_id}")
    for doc_id in extra:
        click.echo(f"in index but not in database: {doc_id}")
    click.echo(
        f"{len(expected)} expected, {len(indexed)} indexed, {len(missing)} missing, {len(extra)} extra, "
        f"{pending} change(s) pending."
    )
    if missing or extra:
        raise SystemExit(1)


def _pending_changes(cursor: int) -> int:
    return db.session.scalar(select(func.count()).select_from(SearchChange).where(SearchChange.id > cursor)) or 0
