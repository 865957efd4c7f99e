"""The practice area's pages: logbook, mentoring, units and placements, progression."""
