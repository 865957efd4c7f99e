"""A person's data on request: export, erasure, and the retention rule for raw answers."""
