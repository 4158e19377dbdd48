"""The workspace configuration, ``nba.toml``: what each key means and its default.

The file is the operator's; the toolkit reads it on every command and never
rewrites it behind their back. Every key has a default, so a fresh workspace
runs as documented, and unknown keys are refused: a typo such as
``capacty = 500`` must not silently leave the capacity at 2,000.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, overload

from nba_toolkit.core.check_settings import BUILTIN_SETTINGS, CheckSettings, SettingsT, VolumeBandSettings, settings_class
from nba_toolkit.core.features import DEFAULT_DECLARATION, Declaration, parse_features
from nba_toolkit.errors import BadInput

DEFAULT_DENYLIST = (
    "gender",
    "sex",
    "postcode",
    "zip",
    "zipcode",
    "postal_code",
    "name",
    "address",
    "street",
    "city",
    "birth_date",
    "date_of_birth",
    "dob",
    "nationality",
    "ethnicity",
    "religion",
)

# Canonical column -> the name the bank's extract uses. The sample data speaks
# like a warehouse extract, so the default mapping is the sample's.
DEFAULT_COLUMNS = {
    "customer_id": "RELATION_NO",
    "snapshot_date": "SNAPSHOT_DATE",
    "savings_balance": "SAVINGS_BAL",
    "current_balance": "CURRENT_BAL",
    "n_accounts": "NUM_ACCOUNTS",
    "app_installed": "APP_USER",
    "logins_per_month": "IB_LOGINS_M",
    "n_products": "NUM_PRODUCTS",
    "age_band": "AGE_BAND",
    "is_investor": "HAS_INVEST_ACC",
    "marketing_consent": "MKT_CONSENT",
    "fund_change_1w": "FUND_CHG_1W",
    "fund_change_4w": "FUND_CHG_4W",
}

DEFAULT_EXPORT_HEADERS = {
    "customer_id": "relation_number",
    "campaign_code": "campaign_code",
    "group": "group",
    "export_date": "export_date",
}


def setting(default: Any, meaning: str, **metadata: Any) -> Any:
    """A configuration key: its default and what it means, the one place both are written.

    Validation (by the default's type), ``config show``, the commented
    nba.toml that ``init`` writes and the key table in docs/operator-guide.md
    all come from these declarations (``declared_keys``).
    """
    if isinstance(default, dict):
        return field(default_factory=lambda: dict(default), metadata={"meaning": meaning, **metadata})
    return field(default=default, metadata={"meaning": meaning, **metadata})


@dataclass(frozen=True)
class CampaignConfig:
    code: str = setting("INVEST-WEEKLY", "campaign code written into every row and the name of the mail file")
    salt: str = setting(
        "change-me", "decides holdout and random-control membership; keep it fixed", default_text="random at `init`"
    )


@dataclass(frozen=True)
class SelectionConfig:
    capacity: int = setting(2000, "most customers the model may select in a week (holdout included)")
    capacity_share: float | None = setting(
        None,
        "instead of capacity: the capacity as a share of each week's eligible customers (after investors, consent, "
        "exclusions, cooldown and rules), rounded down; 0.05 is 5%. Set capacity or capacity_share, not both",
        default_text="not set",
        example=0.05,
    )
    threshold: float = setting(0.015, "lowest score worth a mail: 0.015 = a 1.5% chance to convert")
    cooldown_weeks: int = setting(4, "no new mail within this many weeks of the last contact (at most 520)")
    holdout_share: float = setting(0.10, "share of the selected that is not mailed (control)")
    random_control_share: float = setting(0.05, "random non-selected mailed, as a share of capacity")


@dataclass(frozen=True)
class EngineConfig:
    enabled: bool = setting(True, "false switches the weekly run off until switched on again; training still works")
    name: str = setting("logistic", "the engine that scores: logistic or gradient_boosting, or an engine plugin's name")
    label_window_weeks: int = setting(4, "a conversion counts when within this many weeks of the snapshot")
    validation_weeks: int = setting(12, "the most recent labelled weeks kept aside to validate a trained model")
    retrain_after_days: int = setting(
        91, "Home and status remind you to retrain once the active model is this many days old; 0: no reminder"
    )
    training_sample_rows: int = setting(
        4_000_000,
        "training on more labelled customer-weeks than this fits on every conversion and a weighted random share "
        "of the others, so it fits in memory; the validation figures still use every row of the validation weeks",
    )


@dataclass(frozen=True)
class ExportConfig:
    exporter: str = setting("mail_csv", "the exporter that writes the mail file")
    delimiter: str = setting(";", "the mail file's delimiter, one character")
    encoding: str = setting("utf-8", "the mail file's encoding")
    headers: dict[str, str] = setting(
        DEFAULT_EXPORT_HEADERS, "the mail file's column names: letters, digits, spaces, -, _ and ., each different"
    )


def _builtin_check_settings() -> dict[str, CheckSettings]:
    return {name: cls() for name, cls in BUILTIN_SETTINGS.items()}


@dataclass(frozen=True)
class ChecksConfig:
    """The ``[checks.<name>]`` tables by check name (see ``core/check_settings.py``).

    Every built-in check is present with its defaults, so the ledger records
    the thresholds a run used; ``configured`` names the tables nba.toml itself
    has, so a table for a check that is not loaded can be reported.
    """

    by_name: dict[str, CheckSettings] = field(default_factory=_builtin_check_settings)
    configured: tuple[str, ...] = ()

    @overload
    def settings(self, name: str) -> CheckSettings: ...
    @overload
    def settings(self, name: str, kind: type[SettingsT]) -> SettingsT: ...
    def settings(self, name: str, kind: type[CheckSettings] = CheckSettings) -> CheckSettings:
        """The check's table, defaults filled in; with ``kind``, as the settings class its check reads.

        A built-in check's table is always its ``BUILTIN_SETTINGS`` class, so
        asking for another is a mistake in the toolkit, not in nba.toml.
        """
        found = self.by_name.get(name) or settings_class(name)()
        if not isinstance(found, kind):
            raise TypeError(f"[checks.{name}] holds {type(found).__name__}, not {kind.__name__}")
        return found

    @property
    def volume_band(self) -> VolumeBandSettings:
        return self.settings("volume_band", VolumeBandSettings)


@dataclass(frozen=True)
class SmtpConfig:
    """Alerts by mail; ``host`` empty means the outbox only. The password is never in nba.toml."""

    host: str = setting("", "the mail server; empty: alerts go to outbox/ only")
    port: int = setting(587, "the mail server's port")
    sender: str = setting("", "the address alerts come from", key="from")
    to: tuple[str, ...] = setting((), "who receives the alerts")
    starttls: bool = setting(True, "encrypt the connection with STARTTLS")
    username: str = setting("", "the user to log in as; empty: no login")
    password_env: str = setting("", "the name of the environment variable that holds the password")
    timeout: int = setting(30, "seconds to wait for the mail server")


@dataclass(frozen=True)
class NotifyConfig:
    smtp: SmtpConfig = field(default_factory=SmtpConfig)


@dataclass(frozen=True)
class GovernanceConfig:
    """Who owns the engine, and the sign-off a model needs before it mails anyone."""

    owner: str = setting("", "who answers for the engine (shown on the model card)")
    contacts: str = setting("", "who to call when it misbehaves")
    require_model_approval: bool = setting(
        True, "a model mails nobody before `nba-toolkit model approve`", default_text="true (false in the sample)"
    )
    acceptance_runs: int = setting(1, "`run --dry-run` runs a model needs before it can be approved")
    four_eyes: bool = setting(False, "true: the approver must not be whoever trained the model")
    allow_unreviewed_export: bool = setting(
        False,
        "true: a weekly run nobody reviewed may be exported (a scheduled job); the export is marked unreviewed",
        default_text="false (true in the sample)",
    )


@dataclass(frozen=True)
class RetentionConfig:
    """How long per-customer run data is kept; counts and hashes are kept for good."""

    run_data_days: int = setting(730, "`nba-toolkit purge` removes per-customer run data older than this")


@dataclass(frozen=True)
class MonitoringConfig:
    """When `nba-toolkit monitor` flags a week: how far below the model's validation AUC, and on how much evidence."""

    auc_drop: float = setting(
        0.05, "a week's labelled AUC is flagged when its whole 95% interval lies this far below the validation AUC"
    )
    estimate_drop: float = setting(
        0.05,
        "a week's expected AUC (the estimate before outcomes) is flagged this far below the same model's first weeks",
    )
    reference_weeks: int = setting(
        4, "a model's first exported weeks whose mean expected AUC is the reference of its later weeks' estimates"
    )
    min_positives: int = setting(20, "conversions a week needs before its labelled AUC can be flagged")


@dataclass(frozen=True)
class PluginsConfig:
    disabled: tuple[str, ...] = setting(
        (), "plugin names to switch off; a run does not start while a plugin it depends on is missing or broken"
    )
    folders: tuple[str, ...] = setting((), "extra folders with local plugin files")
    call_timeout_seconds: float = setting(
        300.0, "how long one call of a check, rule or notifier may take before it counts as a crash"
    )


@dataclass(frozen=True)
class Config:
    campaign: CampaignConfig = field(default_factory=CampaignConfig)
    selection: SelectionConfig = field(default_factory=SelectionConfig)
    engine: EngineConfig = field(default_factory=EngineConfig)
    columns: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_COLUMNS))
    #: the engine's features, as ``[features]`` declares them (core/features.py)
    features: Declaration = DEFAULT_DECLARATION
    denylist: tuple[str, ...] = DEFAULT_DENYLIST
    export: ExportConfig = field(default_factory=ExportConfig)
    checks: ChecksConfig = field(default_factory=ChecksConfig)
    notify: NotifyConfig = field(default_factory=NotifyConfig)
    governance: GovernanceConfig = field(default_factory=GovernanceConfig)
    retention: RetentionConfig = field(default_factory=RetentionConfig)
    monitoring: MonitoringConfig = field(default_factory=MonitoringConfig)
    plugins: PluginsConfig = field(default_factory=PluginsConfig)

    def to_dict(self) -> dict[str, Any]:
        """Plain data in the shape of nba.toml, for the ledger and for ``config show``."""
        data = asdict(self)
        data["features"] = self.features.to_dict()
        data["privacy"] = {"denylist": list(data.pop("denylist"))}
        data["plugins"] = {k: list(v) if isinstance(v, tuple) else v for k, v in data["plugins"].items()}
        data["checks"] = data["checks"]["by_name"]
        data["notify"]["smtp"]["from"] = data["notify"]["smtp"].pop("sender")
        # the capacity in force, as nba.toml sets it: a number or a share, never both
        data["selection"].pop("capacity" if self.selection.capacity_share is not None else "capacity_share")
        return data


_TABLES = {
    "campaign": CampaignConfig,
    "selection": SelectionConfig,
    "engine": EngineConfig,
    "export": ExportConfig,
    "governance": GovernanceConfig,
    "retention": RetentionConfig,
    "monitoring": MonitoringConfig,
    "plugins": PluginsConfig,
}


@dataclass(frozen=True)
class Key:
    """One key of nba.toml as the operator meets it: where it lives, its default and what it means."""

    section: str
    key: str
    default: Any
    meaning: str
    #: how the default reads in the docs when it is not simply the value (``random at `init```)
    default_text: str = ""
    #: for a key that is not set by default, the value the template shows commented out
    example: Any = None

    @property
    def name(self) -> str:
        return f"[{self.section}] {self.key}"


#: the tables that are not ``key = value`` settings, with what they hold (documented where they are used)
MAPPED_TABLES = (
    Key("columns", "", None, "canonical name = the column name in the bank's extract", "the sample's names"),
    Key(
        "features",
        "<name>",
        None,
        "one table per engine feature (label, column, kind, transform, clip, bands, levels, stand_in, market, "
        'purpose, parts): see "Using your bank\'s own columns"',
        "the seven features of the sample bank's engine",
    ),
    Key(
        "privacy",
        "denylist",
        DEFAULT_DENYLIST,
        "columns dropped on load and never used, matched on whole words of the name (`FULL_NAME` is dropped by "
        "`name`), even when they are mapped or asked for",
        "gender, sex, postcode, zip, name, address, city, birth date, nationality, ethnicity, religion, ...",
    ),
    Key(
        "checks",
        "<name>",
        None,
        "one table per check: severity, enabled (with a reason) and the check's thresholds (docs/checks.md)",
        "every check's own",
    ),
)


def declared_keys() -> list[Key]:
    """Every ``key = value`` setting of nba.toml, table by table, in the order the template writes them."""
    tables: list[tuple[str, type]] = [*_TABLES.items(), ("notify.smtp", SmtpConfig)]
    return [
        Key(
            section,
            f.metadata.get("key", f.name),
            _default(f),
            f.metadata["meaning"],
            f.metadata.get("default_text", ""),
            f.metadata.get("example"),
        )
        for section, cls in tables
        for f in fields(cls)
    ]


def _default(f: Any) -> Any:
    return f.default_factory() if f.default_factory is not MISSING else f.default


def load_config(path: Path) -> Config:
    """Read ``nba.toml``, fill in defaults, and refuse anything unknown or out of range."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BadInput("the configuration file is missing", file=path) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise BadInput(f"not valid TOML ({exc})", file=path) from None
    return parse_config(raw, source=path)


def parse_config(raw: dict[str, Any], *, source: Path | str = "nba.toml") -> Config:
    known = {
        "campaign",
        "selection",
        "engine",
        "columns",
        "features",
        "privacy",
        "export",
        "checks",
        "notify",
        "governance",
        "retention",
        "monitoring",
        "plugins",
    }
    for key in raw:
        if key not in known:
            raise BadInput(f"unknown section [{key}]; known sections: {', '.join(sorted(known))}", file=source)
    _one_capacity(raw.get("selection"), source)
    values: dict[str, Any] = {}
    for name, cls in _TABLES.items():
        values[name] = _table(cls, raw.get(name, {}), name, source)
    columns = dict(DEFAULT_COLUMNS)
    for canonical, bank in _mapping(raw.get("columns", {}), "columns", source).items():
        if not bank.strip():
            raise BadInput(
                f"[columns] {canonical} = {bank!r} is empty: name the column of your extract that holds it", file=source
            )
        columns[canonical] = bank
    values["columns"] = columns
    values["features"] = parse_features(raw["features"], source=source) if "features" in raw else DEFAULT_DECLARATION
    privacy = raw.get("privacy", {})
    _no_unknown(privacy, {"denylist"}, "privacy", source)
    denylist = privacy.get("denylist", list(DEFAULT_DENYLIST))
    if not isinstance(denylist, list) or not all(isinstance(x, str) for x in denylist):
        raise BadInput("[privacy] denylist must be a list of column names", file=source)
    values["denylist"] = tuple(denylist)
    values["checks"] = _checks(raw.get("checks", {}), source)
    notify = raw.get("notify", {})
    if not isinstance(notify, dict):
        raise BadInput("[notify] must be a table", file=source)
    _no_unknown(notify, {"smtp"}, "notify", source)
    values["notify"] = NotifyConfig(smtp=_smtp(notify.get("smtp", {}), source))
    config = Config(**values)
    _validate(config, source)
    return config


_TYPE_WORDS = {bool: "true or false", str: "text in quotes"}


def _one_capacity(selection: Any, source: Path | str) -> None:
    """A week's capacity is a number or a share of the eligible, never both: which one would win is a guess."""
    if isinstance(selection, dict) and "capacity" in selection and "capacity_share" in selection:
        raise BadInput(
            "[selection] sets both capacity and capacity_share; set one: capacity = 2000 (a number a week) "
            "or capacity_share = 0.05 (a share of each week's eligible customers)",
            file=source,
        )


def _table(cls: type, raw: Any, name: str, source: Path | str) -> Any:
    if not isinstance(raw, dict):
        raise BadInput(f"[{name}] must be a table", file=source)
    allowed = {f.name: f for f in fields(cls)}
    _no_unknown(raw, set(allowed), name, source)
    kwargs: dict[str, Any] = {}
    defaults = cls()
    for key, value in raw.items():
        default = getattr(defaults, key)
        shown = allowed[key].metadata.get("key", key)  # as nba.toml spells it ('from', not 'sender')
        if isinstance(default, dict):
            merged = dict(default)
            merged.update(_mapping(value, f"{name}.{key}", source, allowed[key].metadata.get("values", str)))
            kwargs[key] = merged
        elif isinstance(default, tuple):
            if not isinstance(value, list):
                raise BadInput(f"[{name}] {shown} must be a list", file=source)
            kwargs[key] = tuple(value)
        elif isinstance(default, bool) or type(default) is str:
            if not isinstance(value, type(default)):
                raise BadInput(f"[{name}] {shown} must be {_TYPE_WORDS[type(default)]}, got {value!r}", file=source)
            kwargs[key] = value
        elif isinstance(default, int):
            if isinstance(value, bool) or not isinstance(value, int):
                raise BadInput(f"[{name}] {shown} must be a whole number, got {value!r}", file=source)
            kwargs[key] = value
        elif isinstance(default, float):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise BadInput(f"[{name}] {shown} must be a number, got {value!r}", file=source)
            kwargs[key] = float(value)
        else:
            kwargs[key] = value
    return cls(**kwargs)


def _mapping(raw: Any, name: str, source: Path | str, values: type = str) -> dict[str, Any]:
    if values is float:
        if not isinstance(raw, dict) or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in raw.values()):
            raise BadInput(f"[{name}] must map column names to numbers", file=source)
        return {k: float(v) for k, v in raw.items()}
    if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
        raise BadInput(f"[{name}] must map names to names (text)", file=source)
    return dict(raw)


def _checks(raw: Any, source: Path | str) -> ChecksConfig:
    """One table per check; a check that is not built in takes only severity, enabled and reason."""
    if not isinstance(raw, dict) or not all(isinstance(v, dict) for v in raw.values()):
        raise BadInput("[checks] holds one table per check, such as [checks.volume_band]", file=source)
    by_name = _builtin_check_settings()
    common = {f.name for f in fields(CheckSettings)}
    for name, table in raw.items():
        extra = sorted(set(table) - common)
        if name not in BUILTIN_SETTINGS and extra:
            raise BadInput(
                f"unknown key '{extra[0]}' in [checks.{name}]: '{name}' is not a built-in check, so its table "
                f"takes only {', '.join(sorted(common))}; the built-in checks are {', '.join(BUILTIN_SETTINGS)}",
                file=source,
            )
        by_name[name] = _table(settings_class(name), table, f"checks.{name}", source)
    return ChecksConfig(by_name=by_name, configured=tuple(raw))


_SMTP_KEYS = {"host", "port", "from", "to", "starttls", "username", "password_env", "timeout"}


def _smtp(raw: Any, source: Path | str) -> SmtpConfig:
    if not isinstance(raw, dict):
        raise BadInput("[notify.smtp] must be a table", file=source)
    if "password" in raw:
        raise BadInput(
            "[notify.smtp] must not hold the password; name the environment variable that holds it instead, "
            'for example password_env = "NBA_SMTP_PASSWORD"',
            file=source,
        )
    _no_unknown(raw, _SMTP_KEYS, "notify.smtp", source)
    renamed = {("sender" if key == "from" else key): value for key, value in raw.items()}
    if isinstance(renamed.get("to"), str):
        renamed["to"] = [renamed["to"]]
    return _table(SmtpConfig, renamed, "notify.smtp", source)


def _no_unknown(raw: dict[str, Any], allowed: set[str], name: str, source: Path | str) -> None:
    for key in raw:
        if key not in allowed:
            raise BadInput(f"unknown key '{key}' in [{name}]; known keys: {', '.join(sorted(allowed))}", file=source)


#: the campaign code is part of the mail file's name and of every row: letters, digits, - _ . only, a letter or digit first
_CAMPAIGN_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
#: a header name: letters (any alphabet), digits, _ - . and spaces, a letter, digit or _ first
_HEADER = re.compile(r"\w[\w .-]{0,63}")


def _mail_file_text_problems(config: Config) -> list[str]:
    """The texts nba.toml puts into the mail file can neither leave exports/ nor be run by a spreadsheet."""
    problems = []
    code = config.campaign.code
    if not _CAMPAIGN_CODE.fullmatch(code):
        problems.append(
            f"[campaign] code = {code!r} is not allowed: use 1 to 64 letters, digits, '-', '_' or '.', "
            "starting with a letter or digit (it names the mail file and is written into every row)"
        )
    for key, header in config.export.headers.items():
        if not _HEADER.fullmatch(header) or config.export.delimiter in header:
            problems.append(
                f"[export.headers] {key} = {header!r} is not allowed: use letters, digits, spaces, '-', '_' or '.', "
                "starting with a letter, digit or '_', without the delimiter"
            )
    if len(set(config.export.headers.values())) != len(config.export.headers):
        problems.append("[export.headers] gives two columns the same name")
    return problems


def _capacity_share_problems(share: Any) -> list[str]:
    if share is None:
        return []
    if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 < share <= 1:
        return [
            f"[selection] capacity_share = {share!r} must be a share of the eligible customers above 0 and at most 1 "
            "(0.05 for 5%)"
        ]
    return []


#: a cooldown longer than this is a typo; the weeks it spans must still be dates
MAX_COOLDOWN_WEEKS = 520


def _validate(config: Config, source: Path | str) -> None:
    s = config.selection
    problems = []
    m = config.monitoring
    if not (0 <= m.auc_drop < 1 and 0 <= m.estimate_drop < 1):
        problems.append("[monitoring] auc_drop and estimate_drop must be at least 0 and below 1")
    if m.reference_weeks < 1:
        problems.append("[monitoring] reference_weeks must be 1 or more")
    if m.min_positives < 1:
        problems.append("[monitoring] min_positives must be 1 or more")
    if s.capacity < 0:
        problems.append("[selection] capacity must be 0 or more")
    problems += _capacity_share_problems(s.capacity_share)
    if not 0.0 <= s.threshold <= 1.0:
        problems.append("[selection] threshold is a probability and must lie between 0 and 1")
    if not 0 <= s.cooldown_weeks <= MAX_COOLDOWN_WEEKS:
        problems.append(
            f"[selection] cooldown_weeks = {s.cooldown_weeks} must lie between 0 and {MAX_COOLDOWN_WEEKS} (ten years)"
        )
    if config.governance.acceptance_runs < 0:
        problems.append("[governance] acceptance_runs must be 0 or more")
    if config.retention.run_data_days < 1:
        problems.append("[retention] run_data_days must be 1 or more")
    for share in ("holdout_share", "random_control_share"):
        if not 0.0 <= getattr(s, share) < 1.0:
            problems.append(f"[selection] {share} must lie between 0 and 1 (e.g. 0.10 for 10%)")
    if config.engine.label_window_weeks < 1:
        problems.append("[engine] label_window_weeks must be 1 or more")
    if not 0 < config.plugins.call_timeout_seconds <= 86_400:
        problems.append("[plugins] call_timeout_seconds must lie between 0 and 86400 (a day), e.g. 300")
    if config.engine.validation_weeks < 1:
        problems.append("[engine] validation_weeks must be 1 or more")
    if config.engine.retrain_after_days < 0:
        problems.append("[engine] retrain_after_days must be 0 (no reminder) or more")
    if config.engine.training_sample_rows < 1000:
        problems.append("[engine] training_sample_rows must be 1000 or more")
    if len(config.export.delimiter) != 1:
        problems.append("[export] delimiter must be a single character")
    try:
        "x".encode(config.export.encoding)
    except LookupError:
        problems.append(f"[export] encoding '{config.export.encoding}' is not known")
    for name, settings in config.checks.by_name.items():
        problems += settings.problems(name)
    smtp = config.notify.smtp
    if smtp.host:
        if not 0 < smtp.port < 65536:
            problems.append("[notify.smtp] port must lie between 1 and 65535")
        if not smtp.sender or not smtp.to or not all(isinstance(a, str) and "@" in a for a in (smtp.sender, *smtp.to)):
            problems.append("[notify.smtp] needs a 'from' address and at least one 'to' address")
        if smtp.username and not smtp.password_env:
            problems.append("[notify.smtp] has a username but no password_env naming the variable that holds the password")
    problems += _mail_file_text_problems(config)
    missing_headers = set(DEFAULT_EXPORT_HEADERS) - set(config.export.headers)
    extra_headers = set(config.export.headers) - set(DEFAULT_EXPORT_HEADERS)
    if extra_headers or missing_headers:
        problems.append(
            f"[export.headers] may only rename {', '.join(sorted(DEFAULT_EXPORT_HEADERS))}; "
            "the mail file never carries other fields"
        )
    if problems:
        raise BadInput("; ".join(problems), file=source)
