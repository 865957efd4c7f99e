"""Sign-in, roles, capabilities and object-level access checks."""
