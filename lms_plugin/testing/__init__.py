"""Test-taking: assignments and their windows, sittings with autosave and server-side time limits,
submission, results with bands, and the JSON API the sitting page saves through."""
