"""Notifications: in-app rows, and an outbox of e-mail and webhook deliveries sent after the commit.

A low layer: it knows users, not referrals. Callers pass a kind, a title, a body, a link and the id of
the object it is about; ``notify`` writes the rows in the caller's transaction (flush, never commit).
"""
