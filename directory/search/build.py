"""Full index builds: documents written in parallel, one Whoosh segment per worker process.

Whoosh's own parallel writer (``procs=``) keeps every posting of a segment as a Python tuple and, past
``limitmb``, sorts them into run files on disk and merges those back one posting at a time. At 100,000
services that spilling was most of the build. Here each worker keeps its postings grouped by term in
compact arrays (about 16 bytes a posting instead of about 200), so nothing spills, and the postings
come out sorted by sorting the distinct terms only. The segments are written by Whoosh's own codec,
so the index is the same as a plain ``ix.writer()`` would write, only split into one segment per
worker.
"""

from __future__ import annotations

import multiprocessing
import queue
import traceback
from array import array
from collections.abc import Iterable, Iterator
from pathlib import Path

from whoosh import index
from whoosh.index import TOC, clean_files
from whoosh.writing import SegmentWriter

WORKER_POLL_SECONDS = 1.0


class TermPostingPool:
    """A drop-in for Whoosh's ``PostingPool`` when documents arrive in document-number order.

    Whoosh adds postings as ``(fieldname, term bytes, docnum, weight, value bytes)`` and reads them
    back sorted by field, term and document. Documents are added in increasing order, so the postings
    of one term are already in document order: only the terms need sorting.
    """

    def __init__(self) -> None:
        self.fieldnames: set[str] = set()
        self._terms: dict[tuple[str, bytes], tuple[array, array, list]] = {}
        self._values: dict[bytes | None, bytes | None] = {}  # most values repeat (b"\x01" …): keep one copy

    def add(self, item: tuple[str, bytes, int, float, bytes | None]) -> None:
        fieldname, text, docnum, weight, value = item
        postings = self._terms.get((fieldname, text))
        if postings is None:
            postings = self._terms[(fieldname, text)] = (array("I"), array("d"), [])
            self.fieldnames.add(fieldname)
        postings[0].append(docnum)
        postings[1].append(weight)
        postings[2].append(self._values.setdefault(value, value))

    def iter_postings(self) -> Iterator[tuple[str, bytes, int, float, bytes | None]]:
        for key in sorted(self._terms):
            fieldname, text = key
            docnums, weights, values = self._terms.pop(key)
            for docnum, weight, value in zip(docnums, weights, values, strict=True):
                yield fieldname, text, docnum, weight, value

    def cleanup(self) -> None:
        self._terms.clear()


class BulkSegmentWriter(SegmentWriter):
    """A Whoosh segment writer for adding many new documents, in order, with no deletions."""

    def __init__(self, ix, **kwargs) -> None:
        super().__init__(ix, **kwargs)
        self.pool = TermPostingPool()

    def _flush_segment(self) -> None:
        # As SegmentWriter._flush_segment, but each document's field lengths are read once per field,
        # not once per posting (those lookups were a fifth of the writing time).
        self.perdocwriter.close()
        lengths = _FieldLengths(self.per_document_reader()) if self.codec.length_stats else None
        self.fieldwriter.add_postings(self.schema, lengths, self.pool.iter_postings())
        self.fieldwriter.close()
        if lengths:
            lengths.close()

    def finish_segment(self):
        """Write the segment's files and return the segment, for the TOC (it is not committed here)."""
        return self._finalize_segment()


class _FieldLengths:
    """The lengths of every document's fields, read field by field from a per-document reader."""

    def __init__(self, reader) -> None:
        self._reader = reader
        self._lengths: dict[str, list[int]] = {}

    def doc_field_length(self, docnum: int, fieldname: str) -> int:
        lengths = self._lengths.get(fieldname)
        if lengths is None:
            reader = self._reader
            lengths = [reader.doc_field_length(n, fieldname) for n in range(reader.doc_count_all())]
            self._lengths[fieldname] = lengths
        return lengths[docnum]

    def close(self) -> None:
        self._reader.close()


def _worker(index_dir: str, jobs, results) -> None:
    try:
        writer = BulkSegmentWriter(index.open_dir(index_dir), _lk=False)
        for batch in iter(jobs.get, None):
            for doc in batch:
                writer.add_document(**doc)
        # The workers share the index's temporary directory: the parent removes it at the end.
        results.put(("segment", writer.finish_segment() if writer.docnum else None))
    except BaseException:
        results.put(("error", traceback.format_exc()))


class IndexBuildError(RuntimeError):
    """A worker of a parallel build failed; its traceback is the message."""


def build_index(path: Path, schema, batches: Iterable[list[dict]], procs: int = 1) -> int:
    """Create an index at ``path`` (an empty directory) holding the documents of ``batches``.

    With ``procs`` above 1 the batches go to that many worker processes in turn, and the index has one
    segment per worker. Returns the number of documents. Raises ``IndexBuildError`` when a worker fails.
    """
    ix = index.create_in(path, schema)
    if procs <= 1:
        writer = BulkSegmentWriter(ix)
        try:
            count = 0
            for batch in batches:
                for doc in batch:
                    writer.add_document(**doc)
                count += len(batch)
            writer.commit(merge=False)
        except BaseException:
            writer.cancel()
            raise
        return count

    context = multiprocessing.get_context("fork")  # workers inherit the schema and the analyzers' caches
    jobs = context.Queue(maxsize=2 * procs)
    results = context.Queue()
    workers = [context.Process(target=_worker, args=(str(path), jobs, results), daemon=True) for _ in range(procs)]
    for worker in workers:
        worker.start()
    try:
        count = 0
        for batch in batches:
            if batch:
                _put(jobs, batch, workers, results)
                count += len(batch)
        for _ in workers:
            _put(jobs, None, workers, results)
        segments = []
        for _ in workers:
            kind, value = _get(results, workers)
            if kind == "error":
                raise IndexBuildError(value)
            if value is not None:
                segments.append(value)
        for worker in workers:
            worker.join()
        TOC(schema, segments, 1).write(ix.storage, ix.indexname)
        clean_files(ix.storage, ix.indexname, 1, segments)
        return count
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.kill()
                worker.join()
        ix.storage.temp_storage(f"{ix.indexname}.tmp").destroy()
        jobs.cancel_join_thread()  # after a failure, jobs nobody will read must not hold up the exit
        jobs.close()
        results.close()


def _put(jobs, item, workers, results) -> None:
    """Queue a job; a worker that is gone before its last job means the build failed."""
    while True:
        try:
            jobs.put(item, timeout=WORKER_POLL_SECONDS)
            return
        except queue.Full:
            if not all(worker.is_alive() for worker in workers):
                try:
                    kind, value = results.get(timeout=WORKER_POLL_SECONDS)
                except queue.Empty:
                    kind, value = "error", "an index build worker exited early"
                raise IndexBuildError(value if kind == "error" else "an index build worker exited early") from None


def _get(results, workers):
    """A worker's result; a worker that died without one (killed, out of memory) fails the build."""
    while True:
        try:
            return results.get(timeout=WORKER_POLL_SECONDS)
        except queue.Empty:
            dead = [worker.exitcode for worker in workers if worker.exitcode not in (None, 0)]
            if dead:
                raise IndexBuildError(f"an index build worker exited with code {dead[0]}") from None
