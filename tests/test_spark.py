"""The Spark path gives the pandas path's features and scores (real Spark, local[2])."""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("pyspark")

from vipml import spark as vs  # noqa: E402
from vipml.batch import score_to_file  # noqa: E402
from vipml.config import config_from_dict  # noqa: E402
from vipml.data.datasets import load_cdnow, simulate  # noqa: E402
from vipml.errors import SchemaError  # noqa: E402
from vipml.features import build_features, profitable_lines  # noqa: E402
from vipml.model_inputs import MissingInputError  # noqa: E402
from vipml.pipeline import score, train  # noqa: E402

CUTOFF = pd.Timestamp("1997-09-30")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:.*PySpark does not yet fully support pandas:FutureWarning"),
]


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    return load_cdnow()


@pytest.fixture(scope="module")
def sim():
    return simulate(3_000, seed=7)


@pytest.fixture(scope="module")
def cdnow_model(cdnow, tmp_path_factory):
    """A small model trained on CDNOW up to 1997-12-31, saved as a bundle."""
    config = config_from_dict({"lightgbm": {"n_estimators": 30}})
    model = train(cdnow, "1997-12-31", "26W", config=config)
    folder = tmp_path_factory.mktemp("bundle") / "cdnow"
    model.save(folder)
    return model, folder


def collect(sdf, index: str = "customer_id") -> pd.DataFrame:
    with vs.quiet_pyspark():
        return sdf.toPandas().set_index(index).sort_index()


def assert_same(spark_frame: pd.DataFrame, pandas_frame: pd.DataFrame) -> None:
    """Same customers, same columns and dtypes; counts exactly, floats to 1e-9."""
    assert spark_frame.index.equals(pandas_frame.index)
    assert list(spark_frame.columns) == list(pandas_frame.columns)
    for name in pandas_frame.columns:
        left, right = spark_frame[name], pandas_frame[name]
        if pd.api.types.is_integer_dtype(right.dtype):
            assert pd.api.types.is_integer_dtype(left.dtype), name
            np.testing.assert_array_equal(left.to_numpy(), right.to_numpy(), err_msg=name)
        elif pd.api.types.is_float_dtype(right.dtype):
            np.testing.assert_allclose(
                left.to_numpy(dtype=float), right.to_numpy(), rtol=0, atol=1e-9, err_msg=name
            )
        else:
            assert left.astype(str).tolist() == right.astype(str).tolist(), name


def test_features_equal_pandas_on_cdnow(spark, cdnow):
    expected = build_features(cdnow, CUTOFF)
    sdf = vs.to_spark(spark, cdnow)
    got = collect(vs.build_features(sdf, CUTOFF, num_buckets=5))
    assert len(got) == len(expected) == 23_570  # the whole cohort bought in Q1 1997
    assert_same(got, expected)


def test_scores_equal_pandas_on_cdnow(spark, cdnow, cdnow_model):
    model, folder = cdnow_model
    expected = score(model, cdnow, "1998-03-31").set_index("customer_id").sort_index()
    got = collect(vs.score(folder, vs.to_spark(spark, cdnow), "1998-03-31", num_buckets=3))
    assert len(got) == 23_570
    assert got["p_future_vip"].nunique() > 100 and (got["reasons"] != "").all()
    assert_same(got, expected)


def test_scores_with_events_attributes_and_lines_equal_pandas(spark, sim):
    cutoff = "2024-12-30"
    config = config_from_dict({"lightgbm": {"n_estimators": 20}})
    model = train(
        sim.transactions, cutoff, "26W", events=sim.events, customers=sim.customers, config=config
    )
    assert {"acquisition_channel", "region", "first_category"} <= set(model.attributes)
    expected = score(model, sim.transactions, cutoff, sim.events, sim.customers)
    got = vs.score(
        model,
        vs.to_spark(spark, sim.transactions),
        cutoff,
        events=vs.to_spark(spark, sim.events),
        customers=vs.to_spark(spark, sim.customers),
        num_buckets=3,
    )
    assert_same(collect(got), expected.set_index("customer_id").sort_index())
    # the model's inputs are checked on the driver, before any bucket is scored
    lacking = vs.to_spark(spark, sim.events[sim.events["kind"] != "ugc"])
    with pytest.raises(MissingInputError, match="events of kind ugc"):
        vs.score(model, vs.to_spark(spark, sim.transactions), cutoff, events=lacking,
                 customers=vs.to_spark(spark, sim.customers))
    with pytest.raises(MissingInputError, match="customers table columns acquisition_channel"):
        vs.score(model, vs.to_spark(spark, sim.transactions), cutoff,
                 events=vs.to_spark(spark, sim.events))


def test_score_path_writes_the_scores_atomically(spark, cdnow, cdnow_model, tmp_path):
    model, _ = cdnow_model
    sample = load_cdnow(sample=True)
    data = tmp_path / "tx.parquet"
    sample.to_parquet(data)
    out = tmp_path / "scores.parquet"
    out.mkdir()  # an older result is replaced
    (out / "stale.txt").write_text("old")
    info = vs.score_path(model, data, out, spark=spark, num_buckets=2)
    assert (info.out, f"{info.cutoff:%Y-%m-%d}", info.customers) == (str(out), "1998-06-30", 2_357)
    assert info.engine == "spark" and sum(info.segments.values()) == 2_357
    # nothing beside the output but the output; no copy of the bundle left in the temp folder
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scores.parquet", "tx.parquet"]
    assert not (out / "stale.txt").exists()
    for purpose in ("bundle", "ship"):
        assert not list(Path(tempfile.gettempdir()).glob(f"vipml-{purpose}-{os.getpid()}-*"))
    # the rows `vipml score` writes: scored, then segmented with population thresholds
    score_to_file(model, sample, "1998-06-30", tmp_path / "pandas.parquet")
    expected = pd.read_parquet(tmp_path / "pandas.parquet")
    written = pd.read_parquet(out).set_index("customer_id").sort_index()
    assert written["segment"].nunique() >= 4 and written["vip_now"].sum() > 0
    listed = written["segment"] != "regular"
    assert (written.loc[listed, "reasons"] != "").any()
    assert (written.loc[~listed, "reasons"] == "").all()
    assert_same(written, expected.set_index("customer_id"))
    # vipml lists reads the run's date and config from the folder, as from vipml score's file
    from vipml.data.io import read_table

    stored = read_table(out).attrs
    assert stored["cutoff"] == expected.attrs["cutoff"] == "1998-06-30"
    assert stored["vipml_config"] == expected.attrs["vipml_config"]


def test_lifetime_value_fitted_from_distinct_histories_equals_pandas(spark, cdnow):
    from vipml.modeling.btyd import LifetimeValueModel

    features = build_features(cdnow, CUTOFF)
    expected = LifetimeValueModel().fit(features[["frequency", "recency", "T", "monetary_value"]])
    got = vs.fit_lifetime_value(vs.to_spark(spark, features, index=True))
    for part in ("purchase_model_", "gamma_gamma_"):
        want, have = getattr(expected, part).params_, getattr(got, part).params_
        assert have.keys() == want.keys()
        for key, value in want.items():
            assert have[key] == pytest.approx(value, rel=1e-8), (part, key)


def test_shipped_bundle_from_a_registered_model(cdnow_model, tmp_path, monkeypatch):
    """``models:/`` URIs are resolved on the driver; workers get the same bundle bytes."""
    from vipml import tracking

    model, folder = cdnow_model
    monkeypatch.chdir(tmp_path)  # MLflow's default folders land here, not in the repository
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    with tracking.tracked_run("spark-tests", tracking_uri=uri) as run:
        run.log_model_bundle(folder, load_cdnow(sample=True))
    shipped = vs.ShippedBundle.from_model("models:/vipml@challenger")
    local = vs.ShippedBundle.from_model(folder)
    assert shipped.files == local.files and shipped.digest == local.digest
    loaded = shipped.load()
    assert loaded is shipped.load()  # once per process
    assert loaded.feature_names == model.feature_names


def test_spark_udf_over_customer_rows_equals_vipml_score(
    spark, cdnow, cdnow_model, tmp_path, monkeypatch
):
    """The per-customer model, registered next to the transaction-level one, in
    ``mlflow.pyfunc.spark_udf`` over :func:`vipml.spark.build_features` rows (issue 19)."""
    import mlflow
    from pyspark.sql import functions as F

    from vipml import tracking
    from vipml.features import FEATURE_COLUMNS

    model, folder = cdnow_model
    monkeypatch.chdir(tmp_path)  # MLflow's default folders land here, not in the repository
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    with tracking.tracked_run("spark-udf", tracking_uri=uri) as run:
        logged = run.log_model_bundle(folder, load_cdnow(sample=True))
    assert logged.name == "vipml"  # the transaction-level model keeps its name
    features = vs.build_features(vs.to_spark(spark, cdnow), "1998-03-31", num_buckets=3)
    outputs = ["p_future_vip", "p_churn", "clv", "clv_profit", "p_alive"]
    udf = mlflow.pyfunc.spark_udf(
        spark, "models:/vipml-customers@challenger",
        result_type=", ".join(f"{name} double" for name in outputs), env_manager="local",
    )
    scored = features.withColumn("scores", udf(*[F.col(c) for c in FEATURE_COLUMNS]))
    got = collect(scored.select("customer_id", "scores.*"))
    expected = score(model, cdnow, "1998-03-31").set_index("customer_id").sort_index()
    assert got.index.equals(expected.index)
    for name in outputs:
        np.testing.assert_allclose(
            got[name].to_numpy(float), expected[name].to_numpy(float), rtol=1e-9, err_msg=name
        )


def test_buckets_hold_whole_customers(spark, cdnow):
    from pyspark.sql import functions as F

    sdf = vs.with_bucket(vs.to_spark(spark, cdnow), 7)
    with vs.quiet_pyspark():
        per_customer = (
            sdf.groupBy("customer_id").agg(F.countDistinct(vs.BUCKET).alias("n")).toPandas()
        )
    assert len(per_customer) == 23_570 and (per_customer["n"] == 1).all()
    with vs.quiet_pyspark():
        buckets = sdf.select(vs.BUCKET).distinct().toPandas()[vs.BUCKET]
    assert set(buckets) == set(range(7))


def test_profitable_lines_ranked_over_everyone(spark, sim):
    tx = sim.transactions
    assert vs.profitable_lines(vs.to_spark(spark, tx), "2024-12-30") == profitable_lines(
        tx, "2024-12-30"
    )


def test_features_with_events_returns_orders_and_lines_equal_pandas(spark, sim):
    tx = sim.transactions
    cutoff = pd.Timestamp("2024-06-30")
    expected = build_features(tx, cutoff, events=sim.events)
    got = collect(
        vs.build_features(
            vs.to_spark(spark, tx), cutoff, events=vs.to_spark(spark, sim.events), num_buckets=3
        )
    )
    # the data exercise returns, events and the globally ranked lines
    assert expected["returns"].sum() > 0 and expected["reviews"].sum() > 0
    assert 0 < expected["top_lines_share"].mean() < 1
    assert_same(got, expected)


def test_buckets_with_only_events_or_nothing(spark):
    tx = pd.DataFrame(
        {
            "customer_id": [1, 1, 2],
            "timestamp": pd.to_datetime(["2024-01-02", "2024-01-09", "2024-01-05"]),
            "revenue": [10.0, 30.0, 5.0],
        }
    )
    events = pd.DataFrame(
        {
            "customer_id": [2, 3, 4],  # 3 and 4 never bought: dropped, as in pandas
            "timestamp": pd.to_datetime(["2024-01-06", "2024-01-07", "2024-01-08"]),
            "kind": ["review", "referral", "support_ticket"],
            "cost": [0.0, 0.0, 12.5],
        }
    )
    expected = build_features(tx, "2024-01-31", events=events)
    got = vs.build_features(
        vs.to_spark(spark, tx), "2024-01-31", events=vs.to_spark(spark, events), num_buckets=16
    )
    assert_same(collect(got), expected)


def test_features_do_not_depend_on_the_session_time_zone(spark):
    tx = load_cdnow(sample=True)
    expected = build_features(tx, CUTOFF)
    before = spark.conf.get("spark.sql.session.timeZone")
    try:
        spark.conf.set("spark.sql.session.timeZone", "Asia/Tokyo")
        got = collect(vs.build_features(vs.to_spark(spark, tx), CUTOFF, num_buckets=2))
    finally:
        spark.conf.set("spark.sql.session.timeZone", before)
    assert_same(got, expected)


def test_timestamps_and_text_round_trip(spark):
    frame = pd.DataFrame(
        {
            "customer_id": ["a", "b"],
            "timestamp": pd.to_datetime(
                ["2024-03-31 23:59:59.123456", "2024-01-01 00:00:00.000000"]
            ),
            "revenue": [1.5, -2.0],
            "is_return": [False, True],
        }
    )
    sdf = vs.to_spark(spark, frame)
    assert sdf.schema.simpleString() == (
        "struct<customer_id:string,timestamp:timestamp,revenue:double,is_return:boolean>"
    )
    schema = vs.spark_schema(frame)
    back = collect(vs.map_buckets(lambda tx: tx, schema, sdf, num_buckets=2))
    back["timestamp"] = back["timestamp"].astype("datetime64[ns]")
    pd.testing.assert_frame_equal(
        back, frame.set_index("customer_id"), check_dtype=False, check_index_type=False
    )


def test_missing_column_is_named(spark, cdnow):
    sdf = vs.to_spark(spark, cdnow.rename(columns={"customer_id": "client"}))
    with pytest.raises(SchemaError, match="missing column customer_id.*found: client"):
        vs.build_features(sdf, CUTOFF)


def test_quiet_pyspark_silences_only_the_pandas_warning():
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        with vs.quiet_pyspark():
            message = "PySpark does not yet fully support pandas >= 3.0.0"
            warnings.warn(message, FutureWarning, stacklevel=1)
            warnings.warn("something else", UserWarning, stacklevel=1)
    assert [str(w.message) for w in seen] == ["something else"]


def test_score_path_csv_keeps_formula_like_ids_as_text(spark, cdnow_model, tmp_path):
    model, _ = cdnow_model
    sample = load_cdnow(sample=True)
    hostile = {1: '=HYPERLINK("http://x","click")', 2: "+cmd|' /C calc'!A0", 3: "@SUM(1+1)"}
    sample["customer_id"] = sample["customer_id"].map(lambda c: hostile.get(c, f"c{c}"))
    out = tmp_path / "scores.csv"
    info = vs.score_path(model, sample, out, spark=spark, num_buckets=2)
    assert info.customers == 2357
    import csv

    rows = []
    for part in sorted(out.glob("part-*.csv")):
        with open(part, newline="", encoding="utf-8") as handle:
            rows += list(csv.DictReader(handle))
    ids = {r["customer_id"] for r in rows}
    assert {"'" + v for v in hostile.values()} <= ids
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "@", "\t", "\r")), value


def test_csv_identifiers_stay_text(spark, tmp_path):
    """Ids with leading zeros keep them (typed or not), so customers join their transactions."""
    path = tmp_path / "customers.csv"
    pd.DataFrame({"Client": ["007", "0100", "12"], "age": [31, 40, 22]}).to_csv(path, index=False)
    for typed in (True, False):
        table = vs.read_table(spark, path, {"Client": "customer_id"}, typed=typed)
        with vs.quiet_pyspark():
            rows = table.toPandas()
        assert rows["customer_id"].tolist() == ["007", "0100", "12"], typed
    assert rows["age"].tolist() == ["31", "40", "22"]  # untyped: text for the validation
    typed_table = vs.read_table(spark, path, {"Client": "customer_id"})
    assert typed_table.schema["age"].dataType.typeName() == "integer"


def test_reading_parquet_leaves_the_session_settings_as_they_were(spark, tmp_path):
    """pandas writes nanosecond timestamps; reading them needs a legacy setting, which is set
    for the read only (issue 19: no session-wide setting changed behind the user's back)."""
    key = "spark.sql.legacy.parquet.nanosAsLong"
    when = pd.to_datetime(["2024-01-01 10:00:00.123456789", "2024-02-01 00:00:00.000000001"])
    path = tmp_path / "tx.parquet"
    pd.DataFrame({"customer_id": [1, 2], "timestamp": when, "revenue": [1.0, 2.0]}).to_parquet(
        path
    )
    before = spark.conf.get(key, None)
    got = collect(vs.read_table(spark, path))
    assert spark.conf.get(key, None) == before
    assert list(got["timestamp"]) == list(when.floor("us"))
    spark.conf.set(key, "false")  # a user's own value is put back too
    try:
        vs.read_table(spark, path).count()
        assert spark.conf.get(key) == "false"
    finally:
        spark.conf.unset(key)


def test_the_documented_databricks_job_runs_as_written(spark, cdnow, cdnow_model, tmp_path,
                                                       monkeypatch):
    """docs/scale.md's Databricks task, in local mode: the champion from the registry,
    transactions and scores as URIs (file:// here, dbfs:/ there), the scores a folder."""
    from typer.testing import CliRunner

    from vipml import tracking
    from vipml.cli import app

    model, folder = cdnow_model
    monkeypatch.chdir(tmp_path)  # MLflow's default folders land here, not in the repository
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    with tracking.tracked_run("databricks-job", tracking_uri=uri) as run:
        run.log_training(model, folder, cdnow)
        run.log_model_bundle(folder, load_cdnow(sample=True))
    assert tracking.promote("vipml", tracking_uri=uri).promoted
    data = tmp_path / "data" / "transactions"
    data.mkdir(parents=True)
    cdnow.to_parquet(data / "part-0.parquet")
    scores = f"file://{tmp_path}/scores/1998-03-31"
    args = ["score", "--engine", "spark", "--model", "models:/vipml@champion", "--transactions",
            f"file://{data}/", "--cutoff", "1998-03-31", "--out", scores]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "scored 23,570 customers at 1998-03-31" in result.output
    written = tmp_path / "scores" / "1998-03-31"
    assert written.is_dir() and list(written.glob("part-*.parquet"))
    got = collect(spark.read.parquet(scores))
    expected = score(model, cdnow, "1998-03-31").set_index("customer_id").sort_index()
    for name in ("p_future_vip", "p_churn", "clv"):
        np.testing.assert_allclose(got[name].to_numpy(float), expected[name].to_numpy(float),
                                   rtol=1e-9, err_msg=name)


def tied_scores(n: int = 60_000, seed: int = 3) -> pd.DataFrame:
    """Scores with long runs of ties where the thresholds fall: half the customers spent
    nothing, spend and profit are whole amounts, CLV and probabilities coarsely rounded, a few
    probabilities missing."""
    rng = np.random.default_rng(seed)
    spend = np.where(rng.random(n) < 0.5, 0.0, np.round(rng.lognormal(4, 1.2, n)))
    p = np.round(rng.beta(0.6, 6, n), 2)
    p[rng.choice(n, 40, replace=False)] = np.nan
    return pd.DataFrame({
        "customer_id": [f"c{i}" for i in range(n)],
        "spend_12m": spend,
        "profit_12m": np.round(spend * 0.3),
        "clv": np.round(rng.gamma(0.5, 200, n), -1),
        "clv_profit": np.round(rng.gamma(0.5, 60, n), -1),
        "p_future_vip": p,
    })


@pytest.mark.parametrize(
    "rules",
    [
        {},
        {"vip": {"top_pct": 0.05, "value": "profit"}, "segments": {"predicted_vip_top_pct": 0.3}},
        {"vip": {"mode": "fixed", "threshold": 150, "tier_by": "amount"}},
    ],
    ids=["dynamic", "profit-top-5pct", "fixed"],
)
def test_thresholds_by_distributed_queries_equal_pandas_on_ties(spark, rules):
    from vipml.segments import segment_thresholds

    table = tied_scores()
    config = config_from_dict(rules)
    expected = segment_thresholds(table, config)
    with vs.quiet_pyspark():
        scores = spark.createDataFrame(table).repartition(3).persist()
    try:
        got = vs.spark_thresholds(scores, config)
    finally:
        scores.unpersist()
    # a mean is summed in another order on Spark: equal to 1e-12; everything else exactly
    for name in ("predicted_vip_base_rate", "predicted_vip_min_p"):
        assert got.pop(name) == pytest.approx(expected.pop(name), rel=1e-12, abs=0), name
    assert got == expected  # the same order statistics, the same arithmetic
    # the data really has ties at the line: many customers share the VIP threshold's value
    value = table["profit_12m" if "profit" in str(rules) else "spend_12m"]
    assert (value == expected["vip_threshold"]).sum() > 10


def test_exact_order_statistics_at_every_kind_of_rank(spark):
    from vipml.spark.thresholds import SparkPopulation

    table = tied_scores(20_000, seed=11)
    with vs.quiet_pyspark():
        scores = spark.createDataFrame(table).persist()
    population = SparkPopulation(scores, None)
    ranks = [0, 1, 9_999, 10_000, 15_001, 19_998, 19_999]
    for column in ("spend_12m", "clv"):
        expected = np.sort(table[column].to_numpy())[ranks].tolist()
        assert population.order_statistics(column, ranks, "all") == expected, column
    scores.unpersist()


def test_scoring_validates_the_transactions_first(spark, cdnow_model, tmp_path):
    """``vs.score`` and ``vs.score_path`` check the raw transactions with the config's
    ``input`` policies, reporting every problem before anything is scored."""
    model, _ = cdnow_model
    sample = load_cdnow(sample=True).head(200).astype({"revenue": str, "timestamp": str})
    sample.loc[3, "revenue"] = "n/a"
    sample.loc[5, "timestamp"] = "soon"
    with pytest.raises(SchemaError, match=r"(?s)2 problems.*timestamp: unparseable timestamp "
                       r"in 1 of 200 rows \(values 'soon'\).*revenue: not a number"):
        vs.score(model, spark.createDataFrame(sample), "1998-06-30")
    data = tmp_path / "tx.csv"
    sample.to_csv(data, index=False)
    with pytest.raises(SchemaError, match="revenue: not a number in 1 of 200 rows"):
        vs.score_path(model, data, tmp_path / "scores", spark=spark, num_buckets=2)
    assert not (tmp_path / "scores").exists()


def test_a_bracket_that_misses_its_rank_falls_back_to_every_value(spark, monkeypatch):
    """With a coarse ``percentile_approx`` and no margin the brackets miss their ranks; the
    values found over every distinct value are still the exact ones."""
    from vipml.spark import thresholds as st

    monkeypatch.setattr(st, "ACCURACY", 5)
    monkeypatch.setattr(st, "_MARGIN", 0.0)
    table = tied_scores(5_000, seed=5)
    with vs.quiet_pyspark():
        scores = spark.createDataFrame(table).repartition(2).persist()
    ranks = [3, 1_234, 2_500, 4_321, 4_999]
    column = scores.select(scores["clv"].alias("v"))
    brackets = st.SparkPopulation._brackets(column, ranks, len(table))
    assert None in st._resolve(column, ranks, brackets)  # the fallback is really taken
    values = np.sort(table["clv"].to_numpy())[ranks]
    got = st.SparkPopulation(scores, None).order_statistics("clv", ranks, "all")
    assert got == values.tolist()
    scores.unpersist()
