"""Clients, consent, referrals and outreach attempts."""
