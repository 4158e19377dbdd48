"""The sections of the UI, in the order the operator works through a week.

Each section is a Textual mode with its own screen stack, reached by its
key from anywhere (and from the command palette). A new section is one more
entry here and one screen module. The weekly steps have the digits; the
sections for looking back (evaluation, residual group, simulation) have
letters no screen binds.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Section:
    mode: str
    key: str
    title: str
    help: str
    #: the title where 80 columns must hold every section (the navigation bar)
    short: str = ""


SECTIONS = (
    Section("home", "1", "Home", "this week's status, past volumes, warnings and plugin errors"),
    Section("run", "2", "Run", "run a week on a snapshot, stage by stage"),
    Section("checks", "3", "Checks", "every check result of the run; acknowledge warnings", "Check"),
    Section("review", "4", "Review", "counts, scores, and any customer with the reason for their selection"),
    Section("export", "5", "Export", "approve the run and write the mail program's file"),
    Section("config", "6", "Config", "capacity, threshold, cooldown, control shares, campaign code; their history"),
    Section("runs", "7", "Runs", "every run in the ledger; open a past run"),
    Section("plugins", "8", "Plugins", "every plugin with origin, version, status and error", "Plugin"),
    Section("model", "9", "Model", "the active model's card and training metrics"),
    Section(
        "evaluation", "e", "Evaluation", "conversion per group and the uplift with its 95% interval, of the exported runs", "Eval"
    ),
    Section(
        "residual", "g", "Residual", "the residual group: who the last runs never selected, and what holds them down", "Resid"
    ),
    Section("simulation", "m", "Simulation", "replay the engine over past weeks: volumes per group and flagged weeks", "Sim"),
)

BY_MODE = {s.mode: s for s in SECTIONS}
