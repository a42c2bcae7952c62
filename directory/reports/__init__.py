"""Manager reports: referral success, refusals, persistence and workload, as SQL aggregates (docs/reports.md)."""
