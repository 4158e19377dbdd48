"""nba-engine-gbm: a gradient-boosting engine for nba-toolkit, shipped as a wheel.

The toolkit loads this module through the entry point in pyproject.toml and
calls ``nba_register_engines``; the engine itself is in ``engine.py``.
"""

from nba_engine_gbm.engine import GbmEngine
from nba_toolkit.plugin import hookimpl

__version__ = "1.0.0"
NBA_API_VERSION = 1


@hookimpl
def nba_register_engines(register):
    register(GbmEngine())
