"""Excel reports. Builders take plain rows (no ORM queries) and return openpyxl workbooks."""
