"""The words the UI and the CLI show are the operator's: no jargon, no internal names, no "1 runs".

The test reads the source of every module under nba_toolkit/tui and
nba_toolkit/cli and collects the strings that reach a person: texts given to
notices, labels, rich Text and tables, dialogs, palette commands and key
bindings, argparse help, error messages, and the values of the modules'
word tables. Keys, styles and identifiers are left out. Each collected string
is checked against a list of forbidden words, and every count written into
an f-string before a plural noun must go through ``plural`` (nba_toolkit.words).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

import nba_toolkit

PACKAGE = Path(nba_toolkit.__file__).parent
FACES = ("tui", "cli")

#: (pattern, why it is not the operator's word)
FORBIDDEN = (
    (re.compile(r"log-odds", re.IGNORECASE), "say 'contribution to the score'"),
    (re.compile(r"\bPSI\b"), "say 'change in the mix of values'"),
    (re.compile(r"diff \(sd\)|\(sd\)"), "say what the difference is measured in"),
    (re.compile(r"\d pp\b| pp\b"), "say 'percentage points'"),
    (re.compile(r"Measured: None"), "say that nothing was measured"),
    (re.compile(r"random_control"), "say 'random control group'"),
    (re.compile(r"nba_toolkit\."), "an internal module name"),
    (re.compile(r"\bR-[A-Z]\d+\b"), "a requirement id of the product brief"),
    (re.compile(r"\bover 1 runs\b|\b1 (runs|customers|weeks)\b"), "a count of one in the plural"),
)

#: calls whose arguments are shown to a person
SHOWN_BY = {
    "notify",
    "Static",
    "Label",
    "Text",
    "append",
    "update",
    "print",
    "echo",
    "line",
    "info",
    "warn",
    "warning",
    "error",
    "fail",
    "ConfirmDialog",
    "ReasonDialog",
    "SystemCommand",
    "Binding",
    "add_row",
    "add_column",
    "Section",
    "Chart",
    "Bar",
    "Table",
    "UsageError",
    "BadInput",
    "PluginError",
    "CheckBlocked",
    "NbaError",
    "TabPane",
    "Button",
    "exit",
    "say",
    "table",
    "rule",
    "header",
}
#: keyword arguments that are shown to a person, whatever the call
SHOWN_AS = {
    "help",
    "hint",
    "title",
    "placeholder",
    "tooltip",
    "description",
    "message",
    "caption",
    "epilog",
    "prompt",
    "suffix",
}
#: calls whose arguments are keys or pieces of code, never shown as such
NOT_SHOWN = {"get", "replace", "startswith", "endswith", "split", "join", "query_one", "query", "col", "strftime", "setdefault"}
#: nouns whose count must be written with plural()
COUNTED = (
    "runs",
    "customers",
    "weeks",
    "rows",
    "warnings",
    "checks",
    "files",
    "changes",
    "features",
    "plugins",
    "models",
    "exclusions",
    "suppressions",
    "days",
    "errors",
    "problems",
    "events",
    "groups",
)
BARE_PLURAL = re.compile(rf"^ ({'|'.join(COUNTED)})\b")


def _modules() -> list[Path]:
    return sorted(path for face in FACES for path in (PACKAGE / face).rglob("*.py"))


def _name(func: ast.expr) -> str:
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return ""


def _texts(node: ast.AST) -> Iterator[ast.Constant | ast.JoinedStr]:
    """The string literals in an expression that end up in the text, not those used as keys or code."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node
    elif isinstance(node, ast.JoinedStr):
        yield node
        for part in node.values:
            if isinstance(part, ast.FormattedValue):
                yield from _texts(part.value)
    elif isinstance(node, ast.Subscript | ast.Compare):
        return
    elif isinstance(node, ast.Call):
        if _name(node.func) in NOT_SHOWN:
            return
        for child in [*node.args, *(k.value for k in node.keywords)]:
            yield from _texts(child)
    elif isinstance(node, ast.Dict):
        for value in node.values:
            yield from _texts(value)
    else:
        for child in ast.iter_child_nodes(node):
            yield from _texts(child)


def _shown(tree: ast.Module) -> Iterator[ast.Constant | ast.JoinedStr]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            if _name(node.func) in SHOWN_BY:
                for arg in node.args:
                    yield from _texts(arg)
            for keyword in node.keywords:
                if keyword.arg in SHOWN_AS or _name(node.func) in SHOWN_BY:
                    yield from _texts(keyword.value)
        elif isinstance(node, ast.Assign | ast.AnnAssign) and isinstance(node.value, ast.Dict):
            yield from _texts(node.value)  # word tables: the values are shown, the keys are codes
        elif isinstance(node, ast.Raise) and node.exc is not None:
            yield from _texts(node.exc)
        elif isinstance(node, ast.Return) and node.value is not None:
            yield from _texts(node.value)  # the formatting helpers return what the screens show
        elif isinstance(node, ast.For) and isinstance(node.iter, ast.Tuple | ast.List):
            for heading in node.iter.elts:  # column headings written in a loop, not pairs of a code and its words
                if isinstance(heading, ast.Constant):
                    yield from _texts(heading)
        elif isinstance(node, ast.arguments):
            for default in [*node.defaults, *(d for d in node.kw_defaults if d is not None)]:
                yield from _texts(default)


def _words(node: ast.Constant | ast.JoinedStr) -> str:
    if isinstance(node, ast.Constant):
        return node.value
    return "".join(part.value if isinstance(part, ast.Constant) else "{}" for part in node.values)


def _bare_plurals(node: ast.Constant | ast.JoinedStr) -> Iterator[str]:
    """A number formatted straight before a plural noun: f"{n} runs" reads "1 runs" when n is one."""
    if not isinstance(node, ast.JoinedStr):
        return
    for before, after in zip(node.values, node.values[1:]):
        if isinstance(before, ast.FormattedValue) and isinstance(after, ast.Constant):
            match = BARE_PLURAL.match(after.value)
            if match:
                yield f"{{{ast.unparse(before.value)}}}{match.group(0)}"


def _findings() -> list[str]:
    found = []
    for path in _modules():
        where = path.relative_to(PACKAGE.parent)
        seen: set[tuple[int, int]] = set()
        for node in _shown(ast.parse(path.read_text(encoding="utf-8"))):
            if (node.lineno, node.col_offset) in seen:
                continue
            seen.add((node.lineno, node.col_offset))
            words = _words(node)
            for pattern, why in FORBIDDEN:
                if pattern.search(words):
                    found.append(f"{where}:{node.lineno}: {words!r}: {why}")
            for count in _bare_plurals(node):
                found.append(f"{where}:{node.lineno}: {count!r}: a count of one reads wrong; use plural()")
    return found


def test_the_ui_and_the_cli_speak_the_operators_words() -> None:
    found = _findings()
    assert not found, "\n".join(found)


@pytest.mark.parametrize(
    "source",
    [
        'self.notify("drift (PSI 0.3)")',
        'Text(f"{n} runs")',
        'parser.add_argument("--x", help="see R-S1")',
        'REASONS = {"random_control": "random_control group"}',
        'raise UsageError(f"loaded nba_toolkit.input_checks over {k} weeks")',
    ],
)
def test_the_scan_catches_what_it_forbids(source: str) -> None:
    tree = ast.parse(source)
    flagged = [node for node in _shown(tree) if any(p.search(_words(node)) for p, _ in FORBIDDEN) or any(_bare_plurals(node))]
    assert flagged, source


def test_the_scan_leaves_keys_and_code_alone() -> None:
    tree = ast.parse('text.append(f"{c.get(\'random_control\', 0):,} mailed at random", style=STYLE["random_control"])')
    assert not [n for n in _shown(tree) if any(p.search(_words(n)) for p, _ in FORBIDDEN)]


NOTHING_MEASURED_PLUGIN = '''
"""A check that warns without a measurement, as a plugin may."""
from nba_toolkit.core.checks import CheckResult
from nba_toolkit.plugin import hookimpl


class WarnsUnmeasured:
    name = "unmeasured_warning"
    stage = "output"
    severity = "warn"
    description = "Warns without measuring."

    def run(self, context):
        return CheckResult(
            check=self.name, stage=self.stage, severity=self.severity, passed=False,
            message="Look at the week.", measured=None, threshold=0, action="Acknowledge it if the week looks right.",
        )


@hookimpl
def nba_register_checks(register):
    register(WarnsUnmeasured())
'''


def test_the_cli_names_groups_and_measurements_in_plain_words(sample_workspace, capsys) -> None:
    from nba_toolkit.cli import main

    root = str(sample_workspace.root)
    (sample_workspace.root / "plugins" / "warns_unmeasured.py").write_text(NOTHING_MEASURED_PLUGIN, encoding="utf-8")
    assert main(["run", "--week", "2026-W47", "--approve", "--acknowledge-warnings", "--workspace", root]) == 0
    exported = capsys.readouterr().out
    assert "random control" in exported and "random_control" not in exported
    assert main(["checks", "2026-W47.1", "--workspace", root]) == 0
    checks = capsys.readouterr().out
    assert "Nothing measured · threshold: 0" in checks and "None" not in checks


def test_plan_runs_without_arguments_on_the_workspaces_capacity_and_holdout(sample_workspace, capsys) -> None:
    from nba_toolkit.cli import main

    assert main(["plan", "--workspace", str(sample_workspace.root)]) == 0
    out = capsys.readouterr().out
    assert "Capacity 2,000 selected a week, holdout share 10%." in out
    assert "52 weeks: +" in out and "percentage points" in out and " pp" not in out


def test_the_model_card_is_rendered_at_a_terminal_and_stays_markdown_in_a_pipe(sample_workspace) -> None:
    import os
    import pty
    import subprocess
    import sys

    command = [sys.executable, "-m", "nba_toolkit.cli", "model", "card", "--workspace", str(sample_workspace.root)]
    piped = subprocess.run(command, capture_output=True, text=True, timeout=60, check=True).stdout
    assert piped.startswith("# Model card") and "\n## " in piped

    leader, follower = pty.openpty()
    with subprocess.Popen(command, stdout=follower, stderr=subprocess.DEVNULL, env={**os.environ, "COLUMNS": "100"}) as process:
        os.close(follower)
        shown = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
        assert process.wait(timeout=60) == 0
    os.close(leader)
    text = shown.decode("utf-8", "replace")
    assert "Model card" in text and "# Model card" not in text and "\n## " not in text
