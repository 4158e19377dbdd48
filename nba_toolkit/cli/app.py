"""The command line: argument parsing and rich output only; every job is a core call.

Exit codes (also in ``--help`` and the README):
  0 success, 2 usage, 3 blocked by a check, 4 bad input, 5 plugin error,
  1 anything else (a bug: please report it).

With ``--json`` a command prints exactly one JSON document on stdout, also
on failure (``{"error": ..., "exit_code": ...}``); messages go to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nba_toolkit import __version__
from nba_toolkit.errors import (
    EXIT_BAD_INPUT,
    EXIT_BLOCKED,
    EXIT_OK,
    EXIT_PLUGIN,
    EXIT_USAGE,
    NbaError,
    ReadOnlyWorkspace,
    disk_full,
    not_writable,
)

if TYPE_CHECKING:
    from rich.console import Console

    from nba_toolkit.plugin.manager import Registry
    from nba_toolkit.workspace import Workspace

#: modules that add commands; each has ``add_commands(commands: Commands)``
COMMAND_MODULES = (
    "nba_toolkit.cli.weekly",
    "nba_toolkit.cli.checks",
    "nba_toolkit.cli.exclusions",
    "nba_toolkit.cli.review",
    "nba_toolkit.cli.plugins",
    "nba_toolkit.cli.analysis",
    "nba_toolkit.cli.config",
    "nba_toolkit.cli.governance",
    "nba_toolkit.cli.evaluate",
    "nba_toolkit.cli.monitor",
    "nba_toolkit.cli.contacts",
    "nba_toolkit.cli.story",
    "nba_toolkit.cli.changes",
    "nba_toolkit.cli.ui",
)

EXIT_CODES = f"""\
exit codes:
  {EXIT_OK}  success
  {EXIT_USAGE}  usage: the command or its arguments cannot be carried out as given (also: the disk is full)
  {EXIT_BLOCKED}  blocked: a check stopped the run; nothing was exported (see the outbox)
  {EXIT_BAD_INPUT}  bad input: a file (snapshot, configuration, model) is unusable; the message names it
  {EXIT_PLUGIN}  plugin error: a plugin could not be loaded or failed
  1  unexpected error (a bug; set NBA_TOOLKIT_DEBUG=1 for the traceback and report it)
"""


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "workspace", None) is None:
        # `nba-toolkit --workspace DIR [COMMAND]`: the folder given before the command counts as well
        args.workspace = args.any_workspace
    args.read_only = getattr(args, "read_only", False) or args.any_read_only
    if not getattr(args, "handler", None):
        from nba_toolkit.cli.ui import interactive, open_ui

        if not interactive():
            parser.print_help()
            return EXIT_OK
        args.handler = open_ui  # no command at a terminal: the UI on the workspace given, else the default one
        args.writes = False
    out = Output(json_mode=getattr(args, "json", False))
    try:
        args.reading = reading(args)
        if args.reading and not args.read_only:
            out.warn(f"you may not write the workspace {workspace_dir(args)}, so it is shown read-only, as it is")
        return args.handler(args, out)
    except NbaError as exc:
        if exc.exit_code == EXIT_PLUGIN:
            out.debug_traceback(exc)
        out.error(exc)
        return exc.exit_code
    except KeyboardInterrupt:
        out.fail("interrupted; the run (if any) is recorded as cancelled and nothing was exported", 130)
        return 130
    except Exception as exc:  # noqa: BLE001 - the last line of defence against a traceback
        return _unexpected(out, exc)


def reading(args: argparse.Namespace) -> bool:
    """Whether this command opens the workspace read-only; a command that writes is refused under --read-only.

    A command that only reads opens it read-only also when the user cannot
    write it (an auditor's account, a read-only disk), so looking never needs
    write access.
    """
    writes = getattr(args, "writes", True)
    if args.read_only:
        if writes:
            raise ReadOnlyWorkspace(
                f"`nba-toolkit {args.command_name}` changes the workspace, and --read-only refuses every change; "
                "nothing was changed",
                hint="Leave out --read-only to make the change (you need write access to the workspace).",
            )
        sys.dont_write_bytecode = True  # not even a plugin's compiled file in the workspace's plugins/
        return True
    if writes:
        return False
    from nba_toolkit.workspace import Workspace

    root = workspace_dir(args)
    return (root / "nba.toml").is_file() and not Workspace(root).writable()


def _unexpected(out: Output, exc: Exception) -> int:
    """An exception nobody turned into a message: a full disk or a workspace that cannot be written (exit 2),
    a plugin's failure (exit 5, naming it) or a toolkit bug (exit 1)."""
    from nba_toolkit.plugin.calls import failed_call

    if (full := disk_full(exc) or not_writable(exc)) is not None:
        out.error(full)
        return full.exit_code
    failure = failed_call(exc)
    if failure is not None:
        what, plugin = failure
        out.debug_traceback(exc)
        out.fail(
            f"{what}: {type(exc).__name__}: {exc}",
            EXIT_PLUGIN,
            hint=f"This is the plugin's error, not the toolkit's: ask a developer to fix the plugin '{plugin}' "
            "(NBA_TOOLKIT_DEBUG=1 shows its traceback), or roll it back to the version that worked.",
        )
        return EXIT_PLUGIN
    if debugging():
        raise exc
    out.fail(
        f"unexpected error: {type(exc).__name__}: {exc}. This is a bug; set NBA_TOOLKIT_DEBUG=1 "
        "to see where it happened and report it.",
        1,
    )
    return 1


def debugging() -> bool:
    """NBA_TOOLKIT_DEBUG=1: tracebacks for bugs and for plugin errors."""
    return os.environ.get("NBA_TOOLKIT_DEBUG", "").strip().lower() not in ("", "0", "false", "no", "off")


def build_parser() -> argparse.ArgumentParser:
    import importlib

    parser = argparse.ArgumentParser(
        prog="nba-toolkit",
        description="The weekly Next Best Action selection: load, check, score, select, review, export.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"nba-toolkit {__version__}")
    parser.add_argument(
        "--workspace",
        dest="any_workspace",
        type=Path,
        metavar="DIR",
        help="the workspace folder, for the UI (no command) or any command",
    )
    parser.add_argument(
        "--read-only",
        dest="any_read_only",
        action="store_true",
        help="look without changing anything (for an auditor): commands that would write are refused",
    )
    commands = Commands(parser.add_subparsers(title="commands", metavar="COMMAND"))
    for module in COMMAND_MODULES:
        importlib.import_module(module).add_commands(commands)
    return parser


class Commands:
    """Adds subcommands with the shared options (``--workspace``, ``--json``) and the exit codes in help."""

    def __init__(self, subparsers: argparse._SubParsersAction, prefix: str = "") -> None:
        self._subparsers = subparsers
        self._prefix = prefix

    def add(
        self,
        name: str,
        handler: Callable[..., int],
        help_text: str,
        *,
        workspace: bool = True,
        json_flag: bool = True,
        writes: bool = True,
    ) -> argparse.ArgumentParser:
        """``writes=False`` marks a command that only reads: it works under --read-only and on a workspace
        the user cannot write."""
        # argparse %-formats help strings (not descriptions): "95% interval" must not break --help
        sub = self._subparsers.add_parser(
            name,
            help=help_text.replace("%", "%%"),
            description=help_text,
            epilog=EXIT_CODES,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        sub.set_defaults(handler=handler, writes=writes, command_name=f"{self._prefix}{name}")
        if workspace:
            sub.add_argument(
                "--workspace",
                type=Path,
                metavar="DIR",
                help="the workspace folder (default: $NBA_TOOLKIT_HOME, else your user data folder)",
            )
            sub.add_argument("--read-only", action="store_true", help="look without changing anything (for an auditor)")
        if json_flag:
            sub.add_argument("--json", action="store_true", help="print one JSON document on stdout")
        return sub

    def group(self, name: str, help_text: str) -> Commands:
        """A command with subcommands of its own, such as ``config show``."""
        parser = self._subparsers.add_parser(name, help=help_text.replace("%", "%%"), description=help_text)
        return Commands(parser.add_subparsers(title="commands", metavar="COMMAND"), prefix=f"{self._prefix}{name} ")


def escape(text: str) -> str:
    """Messages may contain [brackets] (config sections, paths); rich must print them as they are."""
    from rich.markup import escape as rich_escape

    return rich_escape(text)


def workspace_dir(args: argparse.Namespace) -> Path:
    from nba_toolkit.paths import default_workspace

    return args.workspace or default_workspace()


def workspace_of(args: argparse.Namespace) -> Workspace:
    """The command's workspace, read-only when the command only reads and --read-only or the user's access says so."""
    from nba_toolkit.workspace import Workspace

    return Workspace.open(workspace_dir(args), read_only=getattr(args, "reading", False))


def open_workspace(args: argparse.Namespace, out: Output) -> tuple[Workspace, Registry]:
    from nba_toolkit.plugin.manager import load_plugins

    workspace = workspace_of(args)
    plugins = workspace.config.plugins
    registry = load_plugins(
        workspace.plugin_folders(), disabled=plugins.disabled, call_timeout_seconds=plugins.call_timeout_seconds
    )
    warn_plugin_errors(out, registry)
    return workspace, registry


def warn_plugin_errors(out: Output, registry: Registry) -> None:
    for record in registry.errors():
        out.warn(f"plugin '{record.name}' ({record.source}) is not loaded: {record.error}")
        if record.traceback and debugging():
            out.err.print(record.traceback, markup=False, highlight=False)


def user() -> str:
    from nba_toolkit.workspace import operator_name

    return operator_name()


def number(value: int | None) -> str:
    return "" if value is None else f"{value:,}"


def status_text(status: str) -> str:
    return {
        "exported": "[green]exported[/]",
        "awaiting_approval": "[yellow]awaiting approval[/]",
        "blocked": "[bold red]blocked[/]",
        "failed": "[red]failed[/]",
        "cancelled": "[yellow]cancelled[/]",
        "withdrawn": "withdrawn",
        "running": "running",
    }.get(status, status)


#: the width a table may take when output goes to a pipe or a log file rather than a terminal
PIPED_WIDTH = 400


def _console(*, stderr: bool) -> Console:
    """A terminal gets rich's layout at its own width; a pipe or log file gets lines that are never
    hard-wrapped, so run ids, paths and SHA-256s survive grep and copy-paste whatever the width."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    if stream.isatty():
        return Console(stderr=stderr, highlight=False)
    return Console(stderr=stderr, highlight=False, soft_wrap=True, width=PIPED_WIDTH)


class Output:
    """Rich for people; in JSON mode, one document on stdout and messages on stderr."""

    def __init__(self, json_mode: bool) -> None:
        self.json_mode = json_mode
        self.console: Console = _console(stderr=json_mode)
        self.err = _console(stderr=True)

    def say(self, text: str) -> None:
        self.console.print(text)

    def warn(self, text: str) -> None:
        self.err.print(f"[yellow]warning:[/] {text}")

    def status(self, text: str) -> Any:
        return self.err.status(text)

    def document(self, data: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")

    def error(self, exc: NbaError) -> None:
        self.fail(exc.message, exc.exit_code, hint=exc.hint)

    def debug_traceback(self, exc: BaseException) -> None:
        """With NBA_TOOLKIT_DEBUG=1, the traceback (with the plugin's own frames) on stderr, before the message."""
        if debugging():
            import traceback

            self.err.print("".join(traceback.format_exception(exc)), markup=False, highlight=False)

    def fail(self, message: str, code: int, hint: str | None = None) -> None:
        if self.json_mode:
            self.document({"error": message, "hint": hint, "exit_code": code})
        label = {EXIT_BLOCKED: "blocked", EXIT_BAD_INPUT: "bad input", EXIT_PLUGIN: "plugin error", EXIT_USAGE: "error"}.get(
            code, "error"
        )
        self.err.print(f"[bold red]{label}:[/] {escape(message)}", highlight=False)
        if hint:
            self.err.print(hint, markup=False, highlight=False)
