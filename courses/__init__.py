"""Courses: programmes, modules, lessons, knowledge checks, branching scenarios, completion."""
