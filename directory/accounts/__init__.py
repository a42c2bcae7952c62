"""Users, roles, login, and the permission rules."""
