"""The optional inputs a model was trained with, and the check that scoring gives the same.

A model trained with a ``cost`` column, referral events or a customers table's ``Country``
reads them in its features. Scoring without one of them would fill a default for everyone and
shift every prediction without a word; scoring with a column the model never saw would compute
features unlike the training ones. So the bundle records its inputs (:class:`ModelInputs`),
and before scoring :func:`check_inputs` compares them with what is given:

- a **missing** input is an error naming it and how to pass it, unless it is allowed
  (``--allow-missing NAME``, config ``scoring.allow_missing``): then it is filled as
  :data:`FILLS` says, with a warning;
- an **extra** input (a column, event kind or attribute the model never saw) is listed in one
  warning and left out of the features (:func:`restrict_to_model`), so the features are
  computed as in training.

Examples
--------
>>> needed = ModelInputs(columns=("category",), event_kinds=("referral",),
...                      customer_attributes=("Country",))
>>> given = GivenInputs(columns={"category", "cost"}, event_kinds=set(),
...                     customer_columns={"Country"})
>>> check = check_inputs(needed, given)
>>> [m.name for m in check.missing], [e.name for e in check.extra]
(['referral'], ['cost'])
>>> check_inputs(needed, given, allow_missing=["referral"]).missing
[]
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from vipml.contract import TRANSACTION_COLUMNS
from vipml.errors import VipmlError

__all__ = [
    "FEATURE_COLUMNS",
    "FILLS",
    "GROUPS",
    "GivenInputs",
    "Input",
    "InputCheck",
    "InputWarning",
    "MissingInputError",
    "ModelInputs",
    "check_inputs",
    "describe",
    "restrict_to_model",
]

#: The optional transaction columns the features read. (``quantity`` and the stand-ins
#: ``unit_price``, ``profit`` and ``discount`` only derive revenue, cost or list price when the
#: data are validated: a model does not depend on them.)
FEATURE_COLUMNS = ("order_id", "cost", "list_price", "category", "is_return", "product_id")

#: What an allowed missing input becomes (the features' own fill for an absent input).
FILLS = {
    "order_id": "every transaction row counts as one order",
    "cost": "the default margin rate (features.default_margin_rate) for every purchase",
    "list_price": "no list price: full_price_share and discount_share are 0",
    "category": "no category: top_lines_share and n_categories are 0, first_category 'unknown'",
    "is_return": "only rows with negative revenue are returns",
    "product_id": "n_products is 0",
    "event kind": "no events of that kind (their counts and costs are 0)",
    "attribute": "'unknown' for every customer",
}

#: Names that allow a whole group of missing inputs at once.
GROUPS = {
    "events": "every event kind the model was trained with",
    "customers": "every attribute of the customers table the model was trained with",
}


class InputWarning(UserWarning):
    """Scoring without an allowed input, or with inputs the model does not use."""


class MissingInputError(VipmlError):
    """Scoring lacks inputs the model was trained with (``.missing`` lists them)."""

    def __init__(self, message: str, missing: Sequence[Input]) -> None:
        super().__init__(message)
        self.missing = list(missing)


@dataclass(frozen=True)
class Input:
    """One input of a model: its name and where it comes from.

    ``kind``: ``'column'`` (transaction column), ``'event kind'``, ``'customers attribute'``
    (a column of the customers table) or ``'row attribute'`` (a transaction column declared in
    ``input.customer_attributes``).

    Parameters
    ----------
    name : str
        The column, event kind or attribute.
    kind : str
        ``'column'``, ``'event kind'``, ``'customers attribute'`` or ``'row attribute'``.

    Examples
    --------
    >>> Input("cost", "column").label({"UnitCost": "cost"})
    "cost (mapped from 'UnitCost')"
    """

    name: str
    kind: str

    def label(self, mapping: Mapping[str, str] | None = None) -> str:
        """The name, with the data's own column name where the config maps one."""
        if self.kind == "column":
            raw = [k for k, v in (mapping or {}).items() if v == self.name and k != v]
            if raw:
                return f"{self.name} (mapped from '{raw[0]}')"
        return self.name

    def how_to_give(self, several: bool = False) -> str:
        """How a user passes this input (``several``: said of a group of them)."""
        them = "them" if several else "it"
        return {
            "column": f"map {them} under columns.transactions in the config",
            "event kind": f"give {them} in the events table, --events",
            "customers attribute": f"give {them} in the customers table, --customers",
            "row attribute": f"keep {them} in the transactions, named in "
            "input.customer_attributes",
        }[self.kind]

    def fill(self) -> str:
        """What it is filled with when allowed to be missing (:data:`FILLS`)."""
        key = self.name if self.kind == "column" else self.kind
        return FILLS.get(key, FILLS["attribute"])


@dataclass(frozen=True)
class ModelInputs:
    """The optional inputs a model was trained with.

    ``ignored``: attribute columns the training data had but the features did not use (too
    many levels, numbers or dates): given again, they are no surprise. ``known`` is False for
    a bundle written before vipml recorded its inputs: only its attributes (in the manifest's
    feature list) are checked then.

    Parameters
    ----------
    columns : tuple of str
        Optional transaction columns read by the features.
    event_kinds : tuple of str
        Event kinds read.
    customer_attributes : tuple of str
        Attributes from the customers table.
    row_attributes : tuple of str
        Attributes carried on the transaction rows.
    ignored : tuple of str
        Attribute columns seen but not used.
    known : bool
        False for a bundle that did not record its inputs.

    Examples
    --------
    >>> inputs = ModelInputs(columns=("cost",), event_kinds=("referral",))
    >>> ModelInputs.from_dict(inputs.to_dict()) == inputs
    True
    """

    columns: tuple[str, ...] = ()
    event_kinds: tuple[str, ...] = ()
    customer_attributes: tuple[str, ...] = ()
    row_attributes: tuple[str, ...] = ()
    ignored: tuple[str, ...] = ()
    known: bool = True

    @classmethod
    def of_training(
        cls,
        transactions: pd.DataFrame,
        events: pd.DataFrame | None,
        customers: pd.DataFrame | None,
        customer_attributes: Iterable[str],
        row_attributes: Iterable[str],
    ) -> ModelInputs:
        """The inputs of validated training data; ``customer_attributes`` and
        ``row_attributes``: the attributes the features use, from each source."""
        kinds: tuple[str, ...] = ()
        if events is not None and "kind" in events:
            kinds = tuple(sorted(str(k) for k in events["kind"].dropna().unique()))
        table = tuple(customer_attributes)
        rows = tuple(a for a in row_attributes if a not in table)
        given = [] if customers is None else [str(c) for c in customers.columns]
        given += [str(c) for c in transactions.columns if c not in TRANSACTION_COLUMNS]
        return cls(
            columns=tuple(c for c in FEATURE_COLUMNS if c in transactions.columns),
            event_kinds=kinds,
            customer_attributes=table,
            row_attributes=rows,
            ignored=tuple(sorted({c for c in given if c not in (*table, *rows, "customer_id")})),
        )

    @classmethod
    def of_attributes(cls, attributes: Iterable[str]) -> ModelInputs:
        """An older bundle's inputs: only its attributes are known (source unknown)."""
        return cls(
            customer_attributes=tuple(a for a in attributes if a != "first_category"),
            known=False,
        )

    @property
    def items(self) -> list[Input]:
        """Every input, in order: columns, event kinds, attributes."""
        return [
            *(Input(c, "column") for c in self.columns),
            *(Input(k, "event kind") for k in self.event_kinds),
            *(Input(a, "customers attribute") for a in self.customer_attributes),
            *(Input(a, "row attribute") for a in self.row_attributes),
        ]

    def to_dict(self) -> dict[str, Any]:
        """The manifest's ``inputs`` entry."""
        return {
            "columns": list(self.columns),
            "event_kinds": list(self.event_kinds),
            "customer_attributes": list(self.customer_attributes),
            "row_attributes": list(self.row_attributes),
            "ignored": list(self.ignored),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelInputs:
        """From :meth:`to_dict`."""
        return cls(
            columns=tuple(map(str, data.get("columns", ()))),
            event_kinds=tuple(map(str, data.get("event_kinds", ()))),
            customer_attributes=tuple(map(str, data.get("customer_attributes", ()))),
            row_attributes=tuple(map(str, data.get("row_attributes", ()))),
            ignored=tuple(map(str, data.get("ignored", ()))),
        )


@dataclass(frozen=True)
class GivenInputs:
    """What a scoring run is given: transaction columns, event kinds (None: no events table)
    and customers table columns (None: no customers table).

    Parameters
    ----------
    columns : set of str
        The transactions' columns.
    event_kinds : set of str, optional
        The event kinds (None: no events table).
    customer_columns : set of str, optional
        The customers table's columns (None: no customers table).

    Examples
    --------
    >>> GivenInputs.of(["customer_id", "cost"]).columns == {"customer_id", "cost"}
    True
    """

    columns: set[str]
    event_kinds: set[str] | None = None
    customer_columns: set[str] | None = None

    @classmethod
    def of(
        cls,
        columns: Iterable[Any],
        events: pd.DataFrame | None = None,
        customers: pd.DataFrame | None = None,
    ) -> GivenInputs:
        """From the transactions' columns and the events and customers tables."""
        kinds = None
        if events is not None and "kind" in events:
            kinds = {str(k) for k in events["kind"].dropna().unique()}
        return cls(
            columns=set(map(str, columns)),
            event_kinds=kinds,
            customer_columns=None if customers is None else set(map(str, customers.columns)),
        )


@dataclass
class InputCheck:
    """The result of :func:`check_inputs`.

    Parameters
    ----------
    missing : list of Input
        Inputs the model needs and the run lacks.
    allowed : list of Input
        Missing inputs allowed (filled, with a warning).
    extra : list of Input
        Inputs the model never saw (left out).

    Examples
    --------
    >>> InputCheck().report()  # nothing missing, nothing extra: silent
    """

    missing: list[Input] = field(default_factory=list)
    allowed: list[Input] = field(default_factory=list)
    extra: list[Input] = field(default_factory=list)

    def report(self, mapping: Mapping[str, str] | None = None, stacklevel: int = 2) -> None:
        """Raise :class:`MissingInputError` for missing inputs; warn once for allowed missing
        inputs and once for the extra ones."""
        if self.missing:
            names = ",".join(m.name for m in self.missing)
            raise MissingInputError(
                f"the model was trained with inputs not given here: "
                f"{describe(self.missing, mapping, how=True)}. To score without "
                f"{'them' if len(self.missing) > 1 else 'it'} anyway "
                f"(filled with defaults: the scores shift), pass --allow-missing {names} "
                "(config scoring.allow_missing; allow_missing= in Python)",
                self.missing,
            )
        if self.allowed:
            parts = [f"{m.name} ({m.fill()})" for m in self.allowed]
            warnings.warn(
                f"scoring without {len(self.allowed)} input(s) the model was trained with, as "
                f"allowed: {'; '.join(parts)}; the scores are not those of the full model",
                InputWarning,
                stacklevel=stacklevel,
            )
        if self.extra:
            warnings.warn(
                "not used, as the model was trained without them: "
                f"{describe(self.extra, mapping)}",
                InputWarning,
                stacklevel=stacklevel,
            )


_NOUNS = {
    "column": ("transaction column", "transaction columns"),
    "event kind": ("events of kind", "events of kinds"),
    "customers attribute": ("customers table column", "customers table columns"),
    "row attribute": ("customer attribute column", "customer attribute columns"),
}


def describe(items: Sequence[Input], mapping: Mapping[str, str] | None = None,
             how: bool = False) -> str:
    """Inputs in words, grouped by kind (and how to give each group, with ``how``).

    Parameters
    ----------
    items : sequence of Input
        The inputs.
    mapping : mapping, optional
        The config's column mapping (names shown as given).
    how : bool, default False
        Add how to give each group.

    Returns
    -------
    str
        One phrase per kind, joined by semicolons.

    Examples
    --------
    >>> describe([Input("cost", "column"), Input("referral", "event kind"),
    ...           Input("review", "event kind")], {"UnitCost": "cost"})
    "transaction column cost (mapped from 'UnitCost'); events of kinds referral, review"
    """
    groups: dict[str, list[Input]] = {}
    for item in items:
        groups.setdefault(item.kind, []).append(item)
    parts = []
    for kind, group in groups.items():
        noun = _NOUNS[kind][len(group) > 1]
        text = f"{noun} {', '.join(i.label(mapping) for i in group)}"
        parts.append(f"{text}: {group[0].how_to_give(len(group) > 1)}" if how else text)
    return "; ".join(parts)


def _allowed(name: str, item: Input, allow: set[str]) -> bool:
    if name in allow:
        return True
    if "events" in allow and item.kind == "event kind":
        return True
    return "customers" in allow and item.kind == "customers attribute"


def check_inputs(
    needed: ModelInputs,
    given: GivenInputs,
    allow_missing: Iterable[str] = (),
) -> InputCheck:
    """Compare a model's inputs with what a scoring run is given (nothing raised here: see
    :meth:`InputCheck.report`).

    An attribute may come from the customers table or from the transaction rows, whichever
    has it (the customers table wins, as in :func:`vipml.pipeline.score`).

    Parameters
    ----------
    needed : ModelInputs
        The model's inputs.
    given : GivenInputs
        What the run is given.
    allow_missing : iterable of str
        Names of inputs that may be missing.

    Returns
    -------
    InputCheck
        The missing, allowed and extra inputs.

    Examples
    --------
    >>> check_inputs(ModelInputs(columns=("cost",)), GivenInputs({"cost"})).missing
    []
    """
    allow = {str(a).strip() for a in allow_missing}
    customer_columns = given.customer_columns or set()
    check = InputCheck()
    for item in needed.items:
        if item.kind == "column":
            present = item.name in given.columns
        elif item.kind == "event kind":
            present = item.name in (given.event_kinds or set())
        else:
            present = item.name in customer_columns or item.name in given.columns
        if not present:
            (check.allowed if _allowed(item.name, item, allow) else check.missing).append(item)
    if not needed.known:
        return check
    known = {*needed.customer_attributes, *needed.row_attributes, *needed.ignored}
    check.extra += [
        Input(c, "column")
        for c in FEATURE_COLUMNS
        if c in given.columns and c not in needed.columns
    ]
    check.extra += [
        Input(k, "event kind")
        for k in sorted(given.event_kinds or ())
        if k not in needed.event_kinds
    ]
    check.extra += [
        Input(c, "row attribute")
        for c in sorted(given.columns - set(TRANSACTION_COLUMNS))
        if c not in known
    ]
    check.extra += [
        Input(c, "customers attribute")
        for c in sorted(customer_columns - {"customer_id"})
        if c not in known
    ]
    return check


def restrict_to_model(
    needed: ModelInputs,
    transactions: pd.DataFrame,
    events: pd.DataFrame | None,
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The transactions without the feature columns the model never saw, and the events
    without the kinds it never saw (None when it saw none), so that the features are computed
    as in training. Older bundles (inputs not known) are left as they are.

    Parameters
    ----------
    needed : ModelInputs
        The model's inputs.
    transactions : pandas.DataFrame
        Validated transactions.
    events : pandas.DataFrame or None
        Validated events.

    Returns
    -------
    tuple of (pandas.DataFrame, pandas.DataFrame or None)
        The transactions and events restricted.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": [1], "cost": [2.0]})
    >>> kept, events = restrict_to_model(ModelInputs(), tx, None)
    >>> list(kept.columns), events
    (['customer_id'], None)
    """
    if not needed.known:
        return transactions, events
    unseen = [c for c in FEATURE_COLUMNS if c in transactions and c not in needed.columns]
    if unseen:
        transactions = transactions.drop(columns=unseen)
    if events is not None:
        if not needed.event_kinds:
            events = None
        elif "kind" in events:
            seen = events["kind"].isin(needed.event_kinds).to_numpy()
            if not seen.all():
                events = events.loc[seen]
    return transactions, events
