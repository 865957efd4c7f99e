"""Named operations of the practice area."""
