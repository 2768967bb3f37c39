"""The BTYD diagnostic figures on CDNOW: the numbers behind them and the figures themselves."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from vipml.data.datasets import load_cdnow
from vipml.features import calibration_holdout
from vipml.modeling.btyd import BetaGeoModel, ParetoNBDModel
from vipml.plots import figure_to_png, save_figure
from vipml.plots.btyd import (
    calibration_holdout_figure,
    calibration_holdout_table,
    cumulative_purchases,
    cumulative_purchases_figure,
    frequency_recency_figure,
    model_matrix,
    p_alive_figure,
)

CUTOFF = "1997-09-30"


@pytest.fixture(scope="module")
def tx() -> pd.DataFrame:
    return load_cdnow(sample=True)


@pytest.fixture(scope="module")
def cal_holdout(tx) -> pd.DataFrame:
    return calibration_holdout(tx, CUTOFF, pd.Timedelta(days=273), features="btyd")


@pytest.fixture(scope="module")
def model(cal_holdout) -> BetaGeoModel:
    return BetaGeoModel().fit(cal_holdout)


def test_calibration_holdout_table(model, cal_holdout):
    table = calibration_holdout_table(model, cal_holdout, max_frequency=7)
    assert list(table.index) == list(range(8))
    assert table["customers"].sum() == 2357 and table.at[0, "customers"] == 1411
    pooled = cal_holdout["frequency"] >= 7
    assert table.at[7, "customers"] == pooled.sum()
    assert table.at[7, "actual"] == pytest.approx(
        cal_holdout.loc[pooled, "frequency_holdout"].mean()
    )
    total = (table["predicted"] * table["customers"]).sum()
    assert total == pytest.approx(model.expected_purchases(cal_holdout, 39.0).sum())
    # the conditional expectations rise with calibration frequency, as in the paper
    assert table["predicted"].is_monotonic_increasing and table["actual"].iloc[-1] > 5


def test_calibration_holdout_figure(model, cal_holdout, tmp_path):
    fig = calibration_holdout_figure(model, cal_holdout)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    actual, predicted = (line.get_ydata() for line in ax.get_lines())
    table = calibration_holdout_table(model, cal_holdout)
    np.testing.assert_allclose(actual, table["actual"])
    np.testing.assert_allclose(predicted, table["predicted"])
    assert [t.get_text() for t in ax.get_xticklabels()][-1] == "7+"
    assert "39 weeks" in ax.get_ylabel()
    path = save_figure(fig, tmp_path / "calibration.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_matrices(model, cal_holdout):
    alive = model_matrix(model, cal_holdout, "p_alive")
    assert alive.shape == (39, 30)  # recency 0..38 weeks, frequency 0..29
    assert np.isnan(alive.loc[1.0, 0]) and alive.loc[0.0, 0] == 1.0
    # P(alive) rises with recency and, for recent buyers, with frequency
    values = alive.loc[:, 1:].to_numpy()
    assert (np.diff(values, axis=0) >= -1e-12).all()
    assert alive.loc[38.0, 10] > alive.loc[38.0, 1]
    expected = model_matrix(model, cal_holdout, "expected_purchases", t=4.0, max_frequency=5)
    assert expected.shape == (39, 6)
    row = pd.DataFrame({"frequency": [3.0], "recency": [20.0], "T": [cal_holdout["T"].max()]})
    assert expected.loc[20.0, 3] == pytest.approx(model.expected_purchases(row, 4.0).iloc[0])
    with pytest.raises(ValueError, match="kind 'value' is not one of"):
        model_matrix(model, cal_holdout, "value")


def test_matrix_figures(model, cal_holdout):
    for fig in (
        p_alive_figure(model, cal_holdout),
        frequency_recency_figure(model, cal_holdout, t=4.0),
    ):
        assert isinstance(fig, Figure) and len(fig.axes) == 2  # heat map and colour bar
        assert figure_to_png(fig)[:4] == b"\x89PNG"
    title = frequency_recency_figure(model, cal_holdout, t=1.0).axes[0].get_title()
    assert title == "Expected purchases in the next 1 week (BG/NBD)"


def test_cumulative_purchases(model, tx, cal_holdout):
    table = cumulative_purchases(model, tx, CUTOFF)
    assert table.index[0] == pd.Timestamp("1997-01-01")
    assert table.index[-1] == pd.Timestamp("1998-06-30")
    assert table.loc[CUTOFF, "actual"] == cal_holdout["frequency"].sum() == 2457
    assert table["actual"].iloc[-1] - table.loc[CUTOFF, "actual"] == 1882
    assert table["actual"].is_monotonic_increasing and table["predicted"].is_monotonic_increasing
    # the model tracks the calibration period closely (the paper's figure)
    assert table.loc[CUTOFF, "predicted"] == pytest.approx(2457, rel=0.03)
    assert table["predicted"].iloc[-1] == pytest.approx(table["actual"].iloc[-1], rel=0.06)
    other = cumulative_purchases(ParetoNBDModel().fit(cal_holdout), tx, CUTOFF)
    assert not np.allclose(other["predicted"], table["predicted"])


def test_cumulative_purchases_figure(model, tx):
    fig = cumulative_purchases_figure(model, tx, CUTOFF, end="1998-03-31")
    ax = fig.axes[0]
    actual, predicted, cutoff = ax.get_lines()
    assert len(actual.get_xdata()) == len(pd.date_range("1997-01-01", "1998-03-31"))
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "actual",
        "BG/NBD",
        "end of calibration",
    ]
    with pytest.raises(ValueError, match="no customer made a first purchase on or before"):
        cumulative_purchases(model, tx, "1990-01-01")
