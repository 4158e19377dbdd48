"""The hook reference cannot drift from the code: signatures, examples and object fields are compared."""

from __future__ import annotations

import dataclasses
import inspect
import re
from pathlib import Path

import pytest
from plugin_docs import DOCS, code_blocks, write_plugin

from nba_toolkit.core.checks import CheckContext, CheckResult
from nba_toolkit.core.engine import ENGINE_ATTRIBUTES, ENGINE_METHODS, ENGINE_OPTIONAL
from nba_toolkit.core.notify import Alert
from nba_toolkit.core.rules import RuleContext
from nba_toolkit.plugin import PROJECT, hookspecs
from nba_toolkit.plugin.manager import HOOKS, load_plugins
from nba_toolkit.testing import (
    assert_analysis_exporter_conforms,
    assert_check_conforms,
    assert_engine_conforms,
    assert_exporter_conforms,
    assert_rule_conforms,
    mail_rows,
    rule_context,
    sample_snapshot,
)

REFERENCE = DOCS / "hooks.md"
HEADING = re.compile(r"^## `(nba_\w+\(.*\) -> .*)`$", re.MULTILINE)


def specs() -> dict[str, object]:
    return {name: f for name, f in vars(hookspecs).items() if hasattr(f, f"{PROJECT}_spec")}


def signature_text(name: str, function: object) -> str:
    """The signature as written in the source (hookspecs uses postponed annotations, so they are strings)."""
    signature = inspect.signature(function)
    parameters = ", ".join(f"{p.name}: {p.annotation}" for p in signature.parameters.values())
    return f"{name}({parameters}) -> {signature.return_annotation}"


def documented() -> list[str]:
    return HEADING.findall(REFERENCE.read_text(encoding="utf-8"))


def test_every_hook_has_a_heading_with_its_exact_signature() -> None:
    headings = documented()
    for name, function in specs().items():
        assert signature_text(name, function) in headings, f"docs/plugins/hooks.md lacks '## `{signature_text(name, function)}`'"


def test_no_heading_documents_a_hook_that_does_not_exist() -> None:
    expected = {signature_text(n, f) for n, f in specs().items()}
    assert set(documented()) == expected
    assert set(HOOKS.values()) == set(specs()), "the loader's hook table and the specifications differ"


def test_signature_text_sees_a_changed_signature() -> None:
    """The comparison above is not vacuous: another argument or type gives another text."""

    def nba_register_checks(register: Callable[[Check], None], config: Config) -> None: ...  # noqa: F821

    assert signature_text("nba_register_checks", nba_register_checks) not in documented()


@pytest.mark.parametrize("hook", sorted(HOOKS.values()))
def test_every_hook_has_an_example_that_loads(hook: str, tmp_path: Path) -> None:
    examples = [code for _lang, attrs, code in code_blocks("hooks.md") if attrs.get("example") == hook]
    assert len(examples) == 1, f"hooks.md needs one example for {hook}"
    write_plugin(tmp_path, f"{hook}_example.py", examples[0])
    registry = load_plugins([tmp_path], entry_points_enabled=False, strict=True)
    record = registry.records[-1]
    assert (record.status, record.hooks, record.api_version) == ("ok", [hook], 1)
    kind = next(k for k, h in HOOKS.items() if h == hook)
    [name] = record.provides[kind]
    obj = registry.of_kind(kind)[name].obj
    sample = sample_snapshot()
    if kind == "engine":
        assert_engine_conforms(obj, sample)
    elif kind == "check":
        assert_check_conforms(obj)
    elif kind == "exporter":
        assert_exporter_conforms(obj)
    elif kind == "rule":
        assert_rule_conforms(obj, sample, rule_context(tmp_path))
    elif kind == "analysis_exporter":
        assert_analysis_exporter_conforms(obj, mail_rows(sample))
    else:
        (tmp_path / "outbox").mkdir()
        obj.notify(Alert(run_id="2026-W47.1", week="2026-W47", status="blocked", subject="s", body="b"), tmp_path)
        assert (tmp_path / "outbox" / "LAST_ALERT.txt").read_text() == "s"


def section(title: str) -> str:
    """The text under a heading of hooks.md, up to the next heading."""
    found = re.search(rf"^#+ {title}\n(.*?)(?=^#|\Z)", REFERENCE.read_text(encoding="utf-8"), re.MULTILINE | re.DOTALL)
    assert found, f"hooks.md has no heading '{title}'"
    return found.group(1)


@pytest.mark.parametrize("dataclass", [CheckResult, CheckContext, RuleContext, Alert])
def test_every_field_of_the_objects_is_documented(dataclass: type) -> None:
    text = section(dataclass.__name__)
    for field in dataclasses.fields(dataclass):
        if not field.name.startswith("_"):
            assert f"| `{field.name}: " in text, f"hooks.md does not document {dataclass.__name__}.{field.name}"


def test_the_engine_contract_is_documented() -> None:
    text = section("Engine")
    for name in (*ENGINE_ATTRIBUTES, *ENGINE_METHODS, *ENGINE_OPTIONAL):
        assert f"| `{name}" in text, f"hooks.md does not document Engine.{name}"
    rows = {line.split("`")[1].split("(")[0].split(":")[0]: line for line in text.splitlines() if line.startswith("| `")}
    for name in ENGINE_OPTIONAL:
        assert "| optional" in rows[name], f"hooks.md does not say that Engine.{name} is optional"
    for name in (*ENGINE_ATTRIBUTES, *ENGINE_METHODS):
        assert "| optional" not in rows[name], f"hooks.md says that Engine.{name} is optional; it is required"
