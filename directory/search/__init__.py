"""Full-text and location-aware search (Whoosh)."""
