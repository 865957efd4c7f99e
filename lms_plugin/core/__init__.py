"""The small core every area of the app and every domain package stands on: the declarative
base and shared column types, the person table, capabilities, the audit log, the service's clock
and the errors operations raise. It imports nothing else of the project and nothing of Flask."""
