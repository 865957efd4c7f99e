"""Competency framework: areas, competencies, indicators, scales, role profiles and evidence."""
