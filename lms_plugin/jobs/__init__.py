"""The one job runner for long work (big framework imports and discards), and each job's status."""
