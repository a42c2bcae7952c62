"""Structured eligibility rules and their evaluation against a client's facts."""
