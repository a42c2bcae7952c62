"""Each role's start page after login: what needs doing today. A top layer: it reads referrals, catalog,
reports and accounts; none of them imports it."""
