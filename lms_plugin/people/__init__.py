"""People: signing in and out (progressive delays against guessing, server-side sessions), the password
rule, the language switch, accounts and their command line."""
