"""The built-in exporter: the CSV file the mail program (Selligent) imports.

Delimiter, encoding and header names come from ``[export]`` in nba.toml, so
the file matches whatever the mail program's import expects without code.
"""

from __future__ import annotations

import polars as pl

from nba_toolkit.plugin import hookimpl


class MailCsvExporter:
    name = "mail_csv"
    extension = "csv"

    def write(self, rows, stream, config):
        renamed = rows.select(
            pl.col("customer_id").cast(pl.String).alias(config.headers["customer_id"]),
            pl.col("campaign_code").alias(config.headers["campaign_code"]),
            pl.col("group").alias(config.headers["group"]),
            pl.col("export_date").cast(pl.String).alias(config.headers["export_date"]),
        )
        text = renamed.write_csv(separator=config.delimiter, line_terminator="\r\n")
        stream.write(text.encode(config.encoding))


@hookimpl
def nba_register_exporters(register):
    register(MailCsvExporter())
