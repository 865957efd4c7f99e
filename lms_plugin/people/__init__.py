"""People: signing in and out (with throttling), the language switch, accounts and their command line."""
