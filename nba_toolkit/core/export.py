"""The exporter contract, and the mail file's fixed content.

The mail program receives relation numbers and campaign fields only: no
scores, no features, no personal data. The core decides which rows and
columns go out; an exporter only decides how they are written (dialect,
encoding, headers). The core writes through a temporary file with mode 0600
and renames it into place, so a failing exporter leaves no partial file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, BinaryIO, Protocol, runtime_checkable

if TYPE_CHECKING:
    import polars as pl

    from nba_toolkit.config import ExportConfig

#: the only columns a mail file may carry, in order
MAIL_COLUMNS = ("customer_id", "campaign_code", "group", "export_date")


@runtime_checkable
class Exporter(Protocol):
    name: str
    #: file extension without the dot, e.g. "csv"
    extension: str

    def write(self, rows: pl.DataFrame, stream: BinaryIO, config: ExportConfig) -> None:
        """Write ``rows`` (the columns of ``MAIL_COLUMNS``) to ``stream`` as bytes."""
        ...
