"""Named operations. Each takes explicit arguments, checks permission again, flushes,
and leaves the commit to its caller (the request, the CLI command or the XBlock)."""
