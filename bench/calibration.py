"""How fast this machine is right now: a fixed SQLite workload, timed, for the benchmarks to record.

Shared machines vary by half from one minute to the next; a benchmark that records this beside its
figures can be compared with a run made at another moment (its figures divided by the calibration).
"""

from __future__ import annotations

import sqlite3
import statistics
import time

STATEMENT = (
    "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 500000) "
    "SELECT count(*) FROM (SELECT x % 977 AS k, count(*) FROM n GROUP BY k)"
)


def calibration_s(repeats: int = 5) -> float:
    """Median seconds of grouping half a million generated rows in an in-memory SQLite database."""
    times = []
    with sqlite3.connect(":memory:") as connection:
        for _ in range(repeats):
            started = time.perf_counter()
            connection.execute(STATEMENT).fetchall()
            times.append(time.perf_counter() - started)
    return round(statistics.median(times), 3)
