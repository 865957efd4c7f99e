"""XBlock suites: TestRuntime, the xblock-sdk workbench, and the entry point."""
