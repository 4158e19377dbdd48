"""nba-toolkit: the weekly Next Best Action selection, run offline on one workstation.

Importing the package is cheap on purpose: it pulls in neither the UI nor
scikit-learn, so the command line starts fast and the headless core can be
used from scheduled jobs and tests without a terminal.
"""

__version__ = "0.1.0"
