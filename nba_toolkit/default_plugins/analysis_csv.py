"""The built-in analysis exporter: a run's whole selection with features and flags, as CSV for the analyst.

Every customer of the snapshot with their reason, score, rank, group, the
snapshot's values, the engine's features (``feature_<name>``) and what the
operator flagged or excluded during review. Written by ``nba-toolkit
analysis RUN_ID`` to the workspace's ``analysis/`` folder, never to
``exports/``; it is registered as an analysis exporter, which the mail
export refuses, so it cannot become the mail file by a slip in nba.toml.

It follows ``[export]`` delimiter and encoding. With ``;`` as delimiter
(what Dutch and German Excel expect) numbers get a decimal comma too, and a
UTF-8 file starts with a byte-order mark so Excel reads accents right.

It ships with the toolkit, so ``nba-toolkit analysis`` works from an
installed wheel without anything copied into the workspace.
"""

from __future__ import annotations

from nba_toolkit.plugin import hookimpl


class AnalysisCsv:
    name = "analysis_csv"
    extension = "csv"

    def write(self, rows, stream, config):
        text = rows.write_csv(
            separator=config.delimiter,
            decimal_comma=config.delimiter == ";",
            line_terminator="\r\n",
        )
        bom = "\ufeff" if config.encoding.replace("-", "").lower() == "utf8" else ""
        stream.write((bom + text).encode(config.encoding))


@hookimpl
def nba_register_analysis_exporters(register):
    register(AnalysisCsv())
