"""Each role's landing page: the cadet's tests, practice and modules; the mentor's cadets; the
Training Centre's cohorts and a cohort's progress."""
