"""The Training Centre's workbooks: cohort progress, built from plain rows."""
