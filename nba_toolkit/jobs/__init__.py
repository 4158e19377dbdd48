"""The operator's jobs (train, run, export), shared by the command line and the UI."""
