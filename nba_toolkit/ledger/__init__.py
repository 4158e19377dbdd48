"""The run ledger (SQLite): runs, check results, contacts, models."""
