"""The resource catalog: organizations, services, locations, schedules, taxonomy (HSDS 3.0 names)."""
