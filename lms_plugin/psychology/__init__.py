"""The psychologist's area: results against a chosen norm group, norm groups and norm files,
item analysis and reliability, raw answers (every view logged) and their workbooks."""
