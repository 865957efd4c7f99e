"""Courses for the learner in the app: modules, lessons, knowledge checks and branching scenarios,
with completions recorded as competency evidence."""
