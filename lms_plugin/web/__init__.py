"""Shared page pieces for every area: helpers, base forms, error handling, charts and workbook writing."""
