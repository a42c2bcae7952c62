"""Open data: the HSDS 3.0 shaped JSON API under /api/v1, and HSDS import and export (docs/hsds.md)."""
