"""The built-in engine, checks, exporter and notifier: ordinary plugins, loaded first."""
