"""The views of a run's customer table: one list of names for the Review screen and ``nba-toolkit review``.

Plain text only, so the command line can offer the names without loading a run's machinery.
"""

#: the views of the customer table, with what each shows
VIEWS = {
    "all": "everyone in the snapshot",
    "mailed": "everyone who gets the mail",
    "selected": "selected by the model (mailed or held out)",
    "holdout": "held out",
    "random_control": "mailed at random",
    "over_capacity": "above the threshold, over capacity",
    "below_threshold": "below the threshold",
    "not_drawn": "eligible, not drawn for a random list",
    "excluded": "excluded before scoring",
    "overridden": "flagged or excluded by the operator",
}
