"""Browser end-to-end tests: Debian's chromium, driven by Playwright, against the production server."""
