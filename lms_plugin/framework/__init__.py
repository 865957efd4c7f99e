"""The competency framework in the app: editing drafts, publishing versions, role profiles, the
proficiency policy, import and export, ratings and overrides, person and cohort profiles and gaps."""
