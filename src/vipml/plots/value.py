"""Plots of customer value: concentration (Lorenz curve), segment sizes and the VIP profile.

Each function takes the segmented scores (:func:`vipml.segments.assign_segments`) or a table
derived from them and returns a :class:`matplotlib.figure.Figure` (not registered with pyplot).

Examples
--------
>>> import pandas as pd
>>> scores = pd.DataFrame({"spend_12m": [10.0, 20.0, 30.0, 940.0], "orders_12m": [1, 1, 1, 4]})
>>> fig = lorenz_figure(scores)
>>> [ax.get_title() for ax in fig.axes]
['Value concentration', 'Spend per order vs the rest']
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from vipml.segments import SEGMENT_LABELS, SEGMENTS, value_concentration

__all__ = [
    "RULE_OF_THUMB",
    "lorenz_curve",
    "lorenz_figure",
    "segment_sizes_figure",
    "vip_profile_figure",
]

#: The field's rule of thumb (PRODUCT.md): spend per order of the top 10% / top 1% against the
#: rest.
RULE_OF_THUMB = {"top10": 3.0, "top1": 5.0}

_GROUP_COLORS = {"vip": "#b8860b", "predicted_vip": "#2a7ab0", "everyone_else": "#9aa5b1"}
_GROUP_LABELS = {
    "vip": "VIPs now",
    "predicted_vip": "Predicted VIPs",
    "everyone_else": "Everyone else",
}
_SEGMENT_COLORS = {
    "at_risk_vip": "#c0392b",
    "lapsed_vip": "#7b4a2e",
    "vip": "#b8860b",
    "predicted_vip": "#2a7ab0",
    "near_vip": "#5aa469",
    "dormant_high_potential": "#8e6bb5",
    "regular": "#9aa5b1",
}


def _figure(width: float, height: float) -> Figure:
    return Figure(figsize=(width, height), dpi=110, layout="constrained")


def lorenz_curve(values: np.ndarray | pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Share of customers (most valuable first) against their cumulative share of value.

    Only positive values count. Both arrays start at 0 and end at 1.

    Parameters
    ----------
    values
        One value per customer.

    Returns
    -------
    tuple of numpy.ndarray
        ``(share of customers, cumulative share of value)``.

    Examples
    --------
    >>> x, y = lorenz_curve([1.0, 3.0, 0.0])
    >>> x.tolist(), y.tolist()
    ([0.0, 0.5, 1.0], [0.0, 0.75, 1.0])
    """
    v = np.asarray(values, dtype=np.float64)
    v = np.sort(v[v > 0])[::-1]
    if len(v) == 0:
        return np.array([0.0, 1.0]), np.array([0.0, 0.0])
    x = np.arange(len(v) + 1) / len(v)
    y = np.concatenate([[0.0], np.cumsum(v) / v.sum()])
    return x, y


def lorenz_figure(
    scores: pd.DataFrame,
    value: str = "spend_12m",
    orders: str = "orders_12m",
    currency: str = "$",
) -> Figure:
    """Value concentration: the Lorenz curve with the top 10% and top 1% shares, and their
    spend per order against the rest next to the rule of thumb (about 3x and 5x).

    Parameters
    ----------
    scores
        One row per customer with ``value`` and ``orders`` columns.
    value
        The value column.
    orders
        The order-count column (spend per order).
    currency
        Symbol on the money axis.

    Returns
    -------
    matplotlib.figure.Figure
        Two panels.

    Examples
    --------
    >>> import pandas as pd
    >>> scores = pd.DataFrame({"spend_12m": [5.0, 9.0, 80.0], "orders_12m": [1, 1, 2]})
    >>> len(lorenz_figure(scores).axes)
    2
    """
    c = value_concentration(scores, value=value, orders=orders)
    x, y = lorenz_curve(scores[value])
    fig = _figure(10.0, 4.2)
    ax, bx = fig.subplots(1, 2, width_ratios=[1.6, 1.0])
    ax.plot(x * 100, y * 100, color="#1f4e79", lw=2, label="customers ranked by value")
    ax.plot([0, 100], [0, 100], color="#9aa5b1", ls="--", lw=1, label="equal value")
    for name, pct, color in (("top1", 1, "#c0392b"), ("top10", 10, "#b8860b")):
        share = c[f"{name}_share"] * 100
        ax.plot([pct], [share], "o", color=color)
        ax.annotate(
            f"top {pct}%: {share:.0f}% of {value.replace('_12m', '')}",
            (pct, share),
            xytext=(pct + 6, max(share - 12, 2)),
            arrowprops={"arrowstyle": "-", "color": color},
            color=color,
            fontsize=9,
        )
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 102)
    ax.set_xlabel("share of customers, most valuable first (%)")
    ax.set_ylabel(f"share of {value} (%)")
    ax.set_title("Value concentration")
    ax.text(
        0.98, 0.04, f"{int(c['customers']):,} customers with {value} > 0; Gini {c['gini']:.2f}",
        transform=ax.transAxes, ha="right", fontsize=8, color="#555",
    )
    ax.legend(loc="center right", fontsize=8, frameon=False)

    labels = ["top 10%", "top 1%"]
    observed = [c["top10_order_value_ratio"], c["top1_order_value_ratio"]]
    rule = [RULE_OF_THUMB["top10"], RULE_OF_THUMB["top1"]]
    pos = np.arange(2)
    bx.bar(pos - 0.2, observed, 0.4, color="#1f4e79", label="this data")
    bx.bar(pos + 0.2, rule, 0.4, color="#d5dbe3", label="rule of thumb")
    for p, v in zip(pos, observed, strict=True):
        bx.text(p - 0.2, v, f"{v:.1f}x", ha="center", va="bottom", fontsize=9)
    bx.set_xticks(pos, labels)
    bx.axhline(1.0, color="#9aa5b1", lw=1)
    bx.set_ylabel("spend per order / the rest's")
    bx.set_title("Spend per order vs the rest")
    bx.legend(fontsize=8, frameon=False)
    return fig


def segment_sizes_figure(scores: pd.DataFrame) -> Figure:
    """Customers per segment, and each segment's share of customers, 12-month spend and CLV.

    Parameters
    ----------
    scores
        Segmented scores: ``segment``, ``spend_12m`` and ``clv`` per customer.

    Returns
    -------
    matplotlib.figure.Figure
        Two panels.

    Examples
    --------
    >>> import pandas as pd
    >>> scores = pd.DataFrame({"segment": ["vip", "regular", "regular"],
    ...                        "spend_12m": [900.0, 20.0, 10.0], "clv": [500.0, 15.0, 5.0]})
    >>> len(segment_sizes_figure(scores).axes)
    2
    """
    counts = scores["segment"].value_counts().reindex(list(SEGMENTS), fill_value=0)
    total = max(len(scores), 1)
    spend = scores.groupby("segment")["spend_12m"].sum().reindex(list(SEGMENTS), fill_value=0)
    clv = scores.groupby("segment")["clv"].sum().reindex(list(SEGMENTS), fill_value=0)
    labels = [SEGMENT_LABELS[s] for s in SEGMENTS]
    fig = _figure(10.0, 3.8)
    ax, bx = fig.subplots(1, 2)
    pos = np.arange(len(SEGMENTS))[::-1]
    ax.barh(pos, counts.to_numpy(), color=[_SEGMENT_COLORS[s] for s in SEGMENTS])
    ax.set_yticks(pos, labels)
    for p, n in zip(pos, counts.to_numpy(), strict=True):
        ax.text(n, p, f" {n:,} ({n / total:.1%})", va="center", fontsize=8)
    ax.set_xlim(0, max(counts.max(), 1) * 1.45)  # linear: sizes compare as they are
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.set_xlabel("customers")
    ax.set_title("Segment sizes")

    shares = pd.DataFrame(
        {
            "customers": counts / total,
            "12-month spend": spend / spend.sum() if spend.sum() > 0 else spend * 0,
            "CLV": clv / clv.sum() if clv.sum() > 0 else clv * 0,
        }
    )
    width = 0.27
    for i, (col, color) in enumerate(
        zip(shares.columns, ["#9aa5b1", "#1f4e79", "#b8860b"], strict=True)
    ):
        bx.barh(pos + (1 - i) * width, shares[col].to_numpy() * 100, width, color=color, label=col)
    bx.set_yticks(pos, labels)
    bx.set_xlabel("share of the total (%)")
    bx.set_title("Share of customers, spend and CLV")
    bx.legend(fontsize=8, frameon=False, loc="upper right")
    return fig


def vip_profile_figure(profile: pd.DataFrame, max_values: int = 8) -> Figure:
    """The VIP profile: each attribute's shares per group, and the value signals' VIP index.

    Parameters
    ----------
    profile
        The table of :func:`vipml.segments.vip_profile`.
    max_values
        Most values shown per attribute.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per attribute, and one for the value signals.

    Examples
    --------
    >>> import pandas as pd
    >>> profile = pd.DataFrame({"kind": ["signal"], "attribute": ["spend_12m"],
    ...                         "vip_index": [4.0]})
    >>> vip_profile_figure(profile).axes[0].get_title()
    'Value signals: VIPs against everyone else'
    """
    attributes = list(dict.fromkeys(profile.loc[profile["kind"] == "attribute", "attribute"]))
    signals = profile[profile["kind"] == "signal"]
    panels = len(attributes) + (1 if len(signals) else 0)
    if panels == 0:
        fig = _figure(6.0, 2.0)
        ax = fig.add_subplot()
        ax.axis("off")
        ax.text(0.5, 0.5, "no attributes or value signals to profile", ha="center")
        return fig
    cols = 2 if panels > 1 else 1
    rows = int(np.ceil(panels / cols))
    fig = _figure(10.0, 3.2 * rows)
    axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
    groups = ["vip", "predicted_vip", "everyone_else"]
    for ax, attr in zip(axes, attributes, strict=False):
        table = profile[(profile["kind"] == "attribute") & (profile["attribute"] == attr)]
        table = table.sort_values("vip", ascending=False).head(max_values)
        pos = np.arange(len(table))[::-1]
        height = 0.27
        for i, g in enumerate(groups):
            ax.barh(
                pos + (1 - i) * height, table[g].to_numpy() * 100, height,
                color=_GROUP_COLORS[g], label=_GROUP_LABELS[g],
            )
        ax.set_yticks(pos, table["value"].astype(str).tolist())
        ax.set_xlabel("share of the group (%)")
        ax.set_title(f"By {attr.replace('_', ' ')}")
    if len(signals):
        ax = axes[len(attributes)]
        index = signals["vip_index"].to_numpy(dtype=np.float64)
        keep = np.isfinite(index) & (index > 0)
        names = signals["attribute"].to_numpy()[keep]
        index = index[keep]
        pos = np.arange(len(index))[::-1]
        colors = ["#b8860b" if v >= 1 else "#9aa5b1" for v in index]
        ax.barh(pos, index, color=colors)
        ax.set_xscale("log")
        ax.axvline(1.0, color="#555", lw=1)
        ax.set_yticks(pos, [str(n) for n in names])
        for p, v in zip(pos, index, strict=True):
            ax.text(v, p, f" {v:.2g}x", va="center", fontsize=7)
        ax.set_xlabel("VIP mean / everyone else's (log scale)")
        ax.set_title("Value signals: VIPs against everyone else")
    for ax in axes[panels:]:
        ax.axis("off")
    if attributes:
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside upper center", ncols=3, frameon=False)
    return fig
