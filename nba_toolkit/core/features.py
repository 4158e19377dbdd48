"""Features declared in nba.toml: what the engine reads from the extract, and how.

The bank changes its engine by editing a reviewed configuration, not by
writing a plugin. Each ``[features.<name>]`` table says which extract column
(or columns) the feature reads, its kind, an optional transform, the plain
label the operator reads on every screen and card, and whether the input is
critical or optional with its stand-in::

    [features.savings_balance]
    label = "Savings balance"
    column = "savings_balance"   # a name [columns] maps, or the extract's own column name
    kind = "number"              # number, category, flag or composite
    transform = "log"            # log(1 + value), values below 0 counted as 0
    purpose = "Customers with savings can consider investing"

Kinds:

* ``number``: a number, optionally clipped (``clip = [low, high]``), put on a
  log scale (``transform = "log"``) or cut into bands (``bands = [25, 35]``:
  "under 25", "25 to under 35", "35 and over"), which makes it a category.
* ``category``: text values. The levels are learned at training (values seen
  in at least ``MIN_LEVEL_ROWS`` training rows) or declared (``levels =
  [...]``) and stored with the model; any other value is scored as the
  explicit level "other", and the ``category_levels`` check counts them.
* ``flag``: true or false.
* ``composite``: several inputs merged into one 0-1 measure, the mean of its
  ``parts``: a flag counts as 0 or 1, a number as ``value / scale`` capped at
  1 (product.md's *engagement*: app installed, accounts, logins).

An input with a ``stand_in`` is optional: a week without it is scored with
the stand-in, counted and marked degraded (core/degraded.py). Without one it
is critical, and the run stops rather than guess it. ``market = true`` marks
a feature that is the same for every customer in a week (the bank's fund
index): the market regime check watches it.

Defaults: a workspace without a ``[features]`` table uses
``DEFAULT_DECLARATION``, the seven features the sample bank's engine used.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from nba_toolkit.errors import BadInput

KINDS = ("number", "category", "flag", "composite")
#: what the loader reads each kind of input as
_COLUMN_TYPES = {"number": "float", "category": "str", "flag": "bool"}
TRANSFORMS = ("log",)
OTHER = "other"
#: a value seen in fewer training rows than this is not a level of its own: it is scored as "other"
MIN_LEVEL_ROWS = 30
#: more levels than this looks like an id, a date or free text, not a category
MAX_LEVELS = 50
_FEATURE_KEYS = {"label", "column", "kind", "transform", "clip", "bands", "levels", "stand_in", "parts", "market", "purpose"}
_PART_KEYS = {"column", "kind", "scale", "stand_in"}


@dataclass(frozen=True)
class Part:
    """One input of a composite feature: a flag (0 or 1) or a number divided by ``scale`` and capped at 1."""

    column: str
    kind: str
    scale: float = 1.0
    stand_in: Any = None


@dataclass(frozen=True)
class Feature:
    name: str
    label: str
    kind: str
    column: str = ""
    transform: str = ""
    clip: tuple[float, float] | None = None
    bands: tuple[float, ...] = ()
    levels: tuple[str, ...] = ()
    stand_in: Any = None
    parts: tuple[Part, ...] = ()
    market: bool = False
    purpose: str = ""

    @property
    def categorical(self) -> bool:
        """Whether the model sees this feature as levels (a category, or a number cut into bands)."""
        return self.kind == "category" or bool(self.bands)

    def inputs(self) -> list[tuple[str, str, Any]]:
        """(column, loader type, stand-in or None) of every extract column the feature reads."""
        if self.kind == "composite":
            return [(p.column, _COLUMN_TYPES[p.kind], p.stand_in) for p in self.parts]
        return [(self.column, _COLUMN_TYPES[self.kind], self.stand_in)]

    def band_labels(self) -> tuple[str, ...]:
        cuts = [f"{c:g}" for c in self.bands]
        if not cuts:
            return ()
        middle = [f"{low} to under {high}" for low, high in zip(cuts, cuts[1:])]
        return (f"under {cuts[0]}", *middle, f"{cuts[-1]} and over")


@dataclass(frozen=True)
class Declaration:
    """The declared features, in the order the operator wrote them."""

    features: tuple[Feature, ...] = field(default_factory=tuple)

    def __iter__(self):
        return iter(self.features)

    @property
    def labels(self) -> dict[str, str]:
        return {f.name: f.label for f in self.features}

    @property
    def market(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.features if f.market)

    def required_columns(self) -> dict[str, str]:
        """Every extract column the features read, with the type the loader reads it as."""
        columns: dict[str, str] = {}
        for feature in self.features:
            for column, kind, _ in feature.inputs():
                columns[column] = kind
        return columns

    def stand_ins(self) -> dict[str, Any]:
        """The optional inputs and their stand-ins (core/degraded.py fills them in)."""
        return {column: stand_in for f in self.features for column, _, stand_in in f.inputs() if stand_in is not None}

    def purposes(self) -> dict[str, str]:
        """Column -> why it is read, for the data-use register: the purposes of the features that read it."""
        found: dict[str, list[str]] = {}
        for feature in self.features:
            for column, _, _ in feature.inputs():
                purpose = feature.purpose or f"Part of the feature '{feature.label}'"
                if purpose not in found.setdefault(column, []):
                    found[column].append(purpose)
        return {column: "; ".join(purposes) for column, purposes in found.items()}

    def digest(self) -> str:
        """A fingerprint of what the model computes: a model trained on other features refuses to score these.

        Labels and purposes are words for people, not inputs: they may be
        reworded without retraining.
        """
        computed = [{k: v for k, v in asdict(f).items() if k not in ("label", "purpose")} for f in self.features]
        text = json.dumps(computed, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """In the shape of nba.toml's ``[features]`` tables, for the ledger and ``config show``."""
        return {f.name: _feature_table(f) for f in self.features}


def _feature_table(feature: Feature) -> dict[str, Any]:
    table: dict[str, Any] = {"label": feature.label, "kind": feature.kind}
    if feature.column:
        table["column"] = feature.column
    for key in ("transform", "purpose"):
        if getattr(feature, key):
            table[key] = getattr(feature, key)
    if feature.clip is not None:
        table["clip"] = list(feature.clip)
    if feature.bands:
        table["bands"] = list(feature.bands)
    if feature.levels:
        table["levels"] = list(feature.levels)
    if feature.stand_in is not None:
        table["stand_in"] = feature.stand_in
    if feature.market:
        table["market"] = True
    if feature.parts:
        table["parts"] = [
            {"column": p.column, "kind": p.kind, **({"scale": p.scale} if p.kind == "number" else {}), **_stand_in(p)}
            for p in feature.parts
        ]
    return table


def _stand_in(part: Part) -> dict[str, Any]:
    return {} if part.stand_in is None else {"stand_in": part.stand_in}


# ------------------------------------------------------------------ declaring


def parse_features(raw: Any, *, source: Path | str = "nba.toml") -> Declaration:
    """The ``[features]`` tables as a declaration, or ``BadInput`` naming the exact key and value at fault."""
    if not isinstance(raw, dict) or not raw:
        raise BadInput("[features] must hold at least one table, such as [features.savings_balance]", file=source)
    features = []
    for name, table in raw.items():
        if not isinstance(table, dict):
            raise BadInput(f"[features] {name} must be a table: [features.{name}] with label, column and kind", file=source)
        features.append(_feature(name, table, source))
    declaration = Declaration(tuple(features))
    _same_column_same_reading(declaration, source)
    return declaration


def _feature(name: str, table: dict[str, Any], source: Path | str) -> Feature:
    where = f"[features.{name}]"

    def fail(message: str) -> BadInput:
        return BadInput(f"{where} {message}", file=source)

    unknown = sorted(set(table) - _FEATURE_KEYS)
    if unknown:
        raise fail(f"has the unknown key '{unknown[0]}'; known keys: {', '.join(sorted(_FEATURE_KEYS))}")
    if name in ("customer_id", "label", "snapshot_date"):
        raise fail(f"cannot be called '{name}': the toolkit uses that name itself")
    kind = table.get("kind")
    if kind not in KINDS:
        raise fail(f"kind = {kind!r} is not a kind; use one of {', '.join(KINDS)}")
    label = table.get("label")
    if not isinstance(label, str) or not label.strip():
        raise fail('needs a label: the plain words the operator reads, e.g. label = "Savings balance"')
    text = {key: table.get(key, "") for key in ("column", "transform", "purpose")}
    for key, value in text.items():
        if not isinstance(value, str):
            raise fail(f"{key} = {value!r} must be text")
    market = table.get("market", False)
    if not isinstance(market, bool):
        raise fail(f"market = {market!r} must be true or false")
    if kind == "composite":
        extra = sorted(set(table) & {"column", "transform", "clip", "bands", "levels", "stand_in"})
        if extra:
            raise fail(f"is a composite: '{extra[0]}' belongs on its parts, not on the feature")
        return Feature(
            name, label.strip(), kind, parts=_parts(table.get("parts"), where, source), market=market, purpose=text["purpose"]
        )
    if "parts" in table:
        raise fail(f"has parts, which only a composite feature has (kind = {kind!r})")
    if not text["column"]:
        raise fail('needs column = "..." naming the extract column it reads')
    if text["transform"] and (kind != "number" or text["transform"] not in TRANSFORMS):
        raise fail(f'transform = {text["transform"]!r} is not possible here; a number may use transform = "log"')
    for key in ("clip", "bands"):
        if key in table and kind != "number":
            raise fail(f"'{key}' is only for numbers (kind = {kind!r})")
    if "levels" in table and kind != "category":
        raise fail(f"'levels' is only for categories (kind = {kind!r})")
    feature = Feature(
        name,
        label.strip(),
        kind,
        column=text["column"],
        transform=text["transform"],
        clip=_clip(table.get("clip"), fail),
        bands=_bands(table.get("bands", []), fail),
        levels=_levels(table.get("levels", []), fail),
        stand_in=table.get("stand_in"),
        market=market,
        purpose=text["purpose"],
    )
    _check_stand_in(feature.stand_in, kind, fail)
    return feature


def _parts(raw: Any, where: str, source: Path | str) -> tuple[Part, ...]:
    if not isinstance(raw, list) or len(raw) < 2 or not all(isinstance(p, dict) for p in raw):
        raise BadInput(
            f'{where} parts must list two or more inputs, e.g. parts = [{{ column = "app_installed", kind = "flag" }}, '
            '{ column = "n_accounts", kind = "number", scale = 4 }]',
            file=source,
        )
    parts = []
    for i, entry in enumerate(raw, start=1):

        def fail(message: str, i: int = i) -> BadInput:
            return BadInput(f"{where} part {i} {message}", file=source)

        unknown = sorted(set(entry) - _PART_KEYS)
        if unknown:
            raise fail(f"has the unknown key '{unknown[0]}'; known keys: {', '.join(sorted(_PART_KEYS))}")
        column, kind = entry.get("column"), entry.get("kind")
        if not isinstance(column, str) or not column:
            raise fail('needs column = "..."')
        if kind not in ("number", "flag"):
            raise fail(f"kind = {kind!r}: a part is a number or a flag")
        scale = entry.get("scale", 1.0)
        if kind == "number" and (isinstance(scale, bool) or not isinstance(scale, (int, float)) or not scale > 0):
            raise fail(f"scale = {scale!r} must be a number above 0: the value that counts as full (1)")
        if kind == "flag" and "scale" in entry:
            raise fail("is a flag: a flag counts as 0 or 1 and takes no scale")
        _check_stand_in(entry.get("stand_in"), kind, fail)
        parts.append(Part(column, kind, float(scale), entry.get("stand_in")))
    return tuple(parts)


def _clip(raw: Any, fail) -> tuple[float, float] | None:
    if raw is None:
        return None
    if not (isinstance(raw, list) and len(raw) == 2 and all(_is_number(v) for v in raw)) or raw[0] >= raw[1]:
        raise fail(f"clip = {raw!r} must be [low, high] with low below high, e.g. clip = [0, 100000]")
    return (float(raw[0]), float(raw[1]))


def _bands(raw: Any, fail) -> tuple[float, ...]:
    if not isinstance(raw, list) or not all(_is_number(v) for v in raw) or any(a >= b for a, b in zip(raw, raw[1:])):
        raise fail(f"bands = {raw!r} must be cut points in increasing order, e.g. bands = [25, 35, 45]")
    return tuple(float(v) for v in raw)


def _levels(raw: Any, fail) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(v, str) and v for v in raw) or len(set(raw)) != len(raw):
        raise fail(f'levels = {raw!r} must list different texts, e.g. levels = ["18-24", "25-34"]')
    if OTHER in raw:
        raise fail(f"levels must not include '{OTHER}': every value outside the levels is scored as '{OTHER}'")
    return tuple(raw)


def _check_stand_in(value: Any, kind: str, fail) -> None:
    if value is None:
        return
    fits = isinstance(value, bool) if kind == "flag" else isinstance(value, str) if kind == "category" else _is_number(value)
    if not fits and not (kind == "number" and value == "median"):
        wanted = {"flag": "true or false", "category": "a text", "number": 'a number or "median"'}[kind]
        raise fail(f"stand_in = {value!r} must be {wanted} (the value used when the input is missing)")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _same_column_same_reading(declaration: Declaration, source: Path | str) -> None:
    """A column read by two features must be read as the same type with the same stand-in."""
    seen: dict[str, tuple[str, Any, str]] = {}
    for feature in declaration:
        for column, kind, stand_in in feature.inputs():
            if column in seen and seen[column][:2] != (kind, stand_in):
                raise BadInput(
                    f"[features.{feature.name}] reads '{column}' as a {kind} with stand-in {stand_in!r}, but "
                    f"[features.{seen[column][2]}] reads it as a {seen[column][0]} with stand-in {seen[column][1]!r}",
                    file=source,
                    hint="Give the column the same kind and stand_in wherever it is read.",
                )
            seen.setdefault(column, (kind, stand_in, feature.name))


#: the seven features the sample bank's engine used, as nba.toml declares them
DEFAULT_FEATURES: dict[str, dict[str, Any]] = {
    "savings_balance": {
        "label": "Savings balance",
        "column": "savings_balance",
        "kind": "number",
        "transform": "log",
        "purpose": "Customers with savings can consider investing",
    },
    "current_balance": {
        "label": "Current account balance",
        "column": "current_balance",
        "kind": "number",
        "transform": "log",
        "purpose": "Day-to-day financial room",
    },
    "engagement": {
        "label": "Engagement (app, accounts, logins)",
        "kind": "composite",
        "purpose": "How much the customer banks with us",
        "parts": [
            {"column": "app_installed", "kind": "flag", "stand_in": True},
            {"column": "n_accounts", "kind": "number", "scale": 4},
            {"column": "logins_per_month", "kind": "number", "scale": 30, "stand_in": 6},
        ],
    },
    "products_held": {
        "label": "Products held",
        "column": "n_products",
        "kind": "number",
        "purpose": "Breadth of the relationship",
    },
    "age_band": {
        "label": "Age band",
        "column": "age_band",
        "kind": "category",
        "levels": ["18-24", "25-34", "35-44", "45-54", "55-64", "65+"],
        "purpose": "Life stage (in bands, never the birth date)",
    },
    "fund_change_1w": {
        "label": "Fund prices, change over 1 week (%)",
        "column": "fund_change_1w",
        "kind": "number",
        "market": True,
        "purpose": "Market climate: the bank's own fund index, change over 1 week",
    },
    "fund_change_4w": {
        "label": "Fund prices, change over 4 weeks (%)",
        "column": "fund_change_4w",
        "kind": "number",
        "market": True,
        "purpose": "Market climate: the bank's own fund index, change over 4 weeks",
    },
}

DEFAULT_DECLARATION = parse_features(DEFAULT_FEATURES, source="the default features")


# ------------------------------------------------------------------ computing


def feature_frame(declaration: Declaration, snapshot: pl.LazyFrame) -> pl.LazyFrame:
    """``customer_id`` plus one column per feature: numbers, flags and composites as floats, levels as text."""
    return snapshot.select(pl.col("customer_id"), *(_expression(f).alias(f.name) for f in declaration))


def _expression(feature: Feature) -> pl.Expr:
    if feature.kind == "composite":
        parts = [_part(p) for p in feature.parts]
        return pl.sum_horizontal(parts) / len(parts)
    column = pl.col(feature.column)
    if feature.kind == "flag":
        return column.cast(pl.Float64)
    if feature.kind == "category":
        return column.cast(pl.String)
    value = column.cast(pl.Float64)
    if feature.clip is not None:
        value = value.clip(*feature.clip)
    if feature.transform == "log":
        # The difference between 1k and 10k matters, not the one between 100k and 109k.
        value = value.clip(lower_bound=0).log1p()
    if feature.bands:
        # a value's band is the number of cut points at or below it: 0 is "under" the first
        position = pl.sum_horizontal([(value >= cut).cast(pl.Int32) for cut in feature.bands])
        labels = feature.band_labels()
        band = position.replace_strict(list(range(len(labels))), list(labels), return_dtype=pl.String)
        return pl.when(value.is_null()).then(None).otherwise(band)
    return value


def _part(part: Part) -> pl.Expr:
    if part.kind == "flag":
        return pl.col(part.column).cast(pl.Float64)
    return (pl.col(part.column).cast(pl.Float64) / part.scale).clip(0.0, 1.0)


def learn_levels(declaration: Declaration, features: pl.DataFrame) -> dict[str, tuple[str, ...]]:
    """Each categorical feature's levels as training saw them, or ``BadInput`` when a column cannot be a category.

    Refused, because a model built on them would be a constant or an id
    lookup while every check passed: a category whose values match none of
    its declared levels (the wrong column mapped into it), one without any
    common value, and one with more than ``MAX_LEVELS`` common values. (One
    value for every training row is refused for any feature by training.)
    """
    levels: dict[str, tuple[str, ...]] = {}
    for feature in declaration:
        if not feature.categorical:
            continue
        counts = features[feature.name].drop_nulls().value_counts().sort(feature.name)
        values = dict(counts.iter_rows())
        declared = feature.levels or feature.band_labels()
        if declared:
            if not set(values) & set(declared):
                sample = ", ".join(repr(v) for v in list(values)[:5]) or "no values at all"
                raise BadInput(
                    f"none of the training values of '{feature.label}' (column '{feature.column}': {sample}) is one "
                    f"of its declared levels ({', '.join(declared)}); the model would learn nothing from it",
                    column=feature.column,
                    hint=f"Check that [columns] maps '{feature.column}' to the right extract column, or fix levels "
                    f"in [features.{feature.name}].",
                )
            levels[feature.name] = tuple(declared)
            continue
        common = tuple(v for v, n in values.items() if n >= MIN_LEVEL_ROWS)
        if len(common) > MAX_LEVELS:
            raise BadInput(
                f"'{feature.label}' (column '{feature.column}') has {len(common):,} different common values in "
                f"training; a category has at most {MAX_LEVELS}. It looks like an id, a date or free text",
                column=feature.column,
                hint=f"Declare it as a number with bands, or remove [features.{feature.name}].",
            )
        if not common:
            raise BadInput(
                f"'{feature.label}' (column '{feature.column}') has no value common enough to learn from (at "
                f"least {MIN_LEVEL_ROWS} training rows each); the model cannot rank customers by it",
                column=feature.column,
                hint=f"Check the column, or remove [features.{feature.name}].",
            )
        levels[feature.name] = common
    return levels


def unseen_levels(levels: Mapping[str, Sequence[str]], features: pl.DataFrame) -> dict[str, int]:
    """Per categorical feature, how many rows carry a value that is not one of the model's levels (scored as "other")."""
    counts = {}
    for name, known in levels.items():
        if name in features.columns:
            column = features[name]
            counts[name] = int((~column.is_in(list(known)) & column.is_not_null()).sum())
    return counts


@dataclass(frozen=True)
class Layout:
    """How the model's matrix is laid out: one column per number, one per level (plus "other") per category.

    ``groups`` gives, per feature, the matrix columns that belong to it, so
    an explanation can add them back up into one figure per feature.
    """

    declaration: Declaration
    levels: dict[str, tuple[str, ...]]
    #: per categorical feature, the share of training rows in each level column, "other" last
    shares: dict[str, tuple[float, ...]] = field(default_factory=dict)

    def groups(self) -> dict[str, list[int]]:
        groups, at = {}, 0
        for feature in self.declaration:
            width = len(self.levels[feature.name]) + 1 if feature.categorical else 1
            groups[feature.name] = list(range(at, at + width))
            at += width
        return groups

    def indicators(self, features: pl.DataFrame) -> np.ndarray:
        """The matrix with one 0/1 column per level and "other"; a row whose value training never saw as
        "other" counts as training's mix, so its level adds nothing to its score."""
        blocks = []
        for feature in self.declaration:
            column = features[feature.name]
            if not feature.categorical:
                blocks.append(column.cast(pl.Float64).to_numpy().reshape(-1, 1))
                continue
            known = self.levels[feature.name]
            block = np.column_stack(
                [*((column == level).fill_null(False).to_numpy() for level in known), ~column.is_in(list(known)).to_numpy()]
            ).astype(np.float64)
            shares = self.shares.get(feature.name)
            if shares is not None and shares[-1] == 0.0:
                block[block[:, -1] == 1.0] = shares
            blocks.append(block)
        return np.hstack(blocks) if blocks else np.empty((features.height, 0))

    def codes(self, features: pl.DataFrame) -> np.ndarray:
        """The matrix with one column per feature, a level as its position (unseen: missing), for trees."""
        columns = []
        for feature in self.declaration:
            column = features[feature.name]
            if feature.categorical:
                known = list(self.levels[feature.name])
                mapping = pl.DataFrame({feature.name: known, "__code__": np.arange(len(known), dtype=np.float64)})
                codes = column.to_frame().join(mapping, on=feature.name, how="left", maintain_order="left")["__code__"]
                columns.append(codes.to_numpy().astype(np.float64))
            else:
                columns.append(column.cast(pl.Float64).to_numpy())
        return np.column_stack(columns) if columns else np.empty((features.height, 0))


def training_layout(declaration: Declaration, features: pl.DataFrame, weight: np.ndarray | None = None) -> Layout:
    """The layout learned from training, its levels checked (``learn_levels``).

    A sampled training (core/sampling.py) gives each row its ``weight``, so the
    category mix is the history's, not the sample's.
    """
    levels = learn_levels(declaration, features)
    draft = Layout(declaration, levels)
    matrix = draft.indicators(features) if features.height else np.empty((0, 0))
    groups = draft.groups()
    shares = {
        name: tuple(float(s) for s in np.average(matrix[:, groups[name]], axis=0, weights=weight)) if features.height else ()
        for name in levels
    }
    return Layout(declaration, levels, shares)


def refuse_empty(declaration: Declaration, features: pl.DataFrame) -> None:
    """An empty feature means a critical input is missing: the toolkit fills optional ones in before this."""
    names = [f.name for f in declaration]
    empty = {c: n for c, n in features.select(names).null_count().row(0, named=True).items() if n}
    if empty:
        labels = declaration.labels
        raise BadInput(
            "the engine cannot work with empty values: "
            + ", ".join(f"'{labels[c]}' is empty for {n:,} customers" for c, n in empty.items()),
            hint="Fill in the critical inputs in the extract; the features and their inputs are declared in "
            "[features] in nba.toml.",
        )
