"""vipml.tracking against a real SQLite MLflow store in tmp_path (no mocks).

One store per module (creating an MLflow database runs its migrations, ~10 s), one real model
trained on the CDNOW sample with a light config; each test uses its own experiment or
registered-model name.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
from pathlib import Path

import mlflow
import pandas as pd
import pytest
import yaml
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from vipml import tracking
from vipml.config import Config, config_from_dict, flatten_config
from vipml.data.datasets import load_cdnow
from vipml.errors import ModelFormatError, TrackingError

CUTOFF = pd.Timestamp("1997-12-31")
LIGHT = {
    "training": {"max_cutoffs": 2},
    "lightgbm": {"n_estimators": 60, "early_stopping_rounds": 10},
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def store(migrated_store) -> tuple[str, Path]:
    return migrated_store("tracking-store")


@pytest.fixture(scope="module")
def uri(store: tuple[str, Path]) -> str:
    return store[0]


@pytest.fixture(scope="module")
def artifacts(store: tuple[str, Path]) -> Path:
    return store[1] / "artifacts"


@pytest.fixture(scope="module")
def tx() -> pd.DataFrame:
    return load_cdnow(sample=True)


@pytest.fixture(scope="module")
def trained(tx: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory):
    """(model, bundle folder): the real pipeline on the CDNOW sample, light settings."""
    from vipml.pipeline import train

    model = train(tx, CUTOFF, horizon="26W", config=config_from_dict(LIGHT))
    bundle = tmp_path_factory.mktemp("bundle") / "vipml-model"
    model.save(bundle)
    return model, bundle


@pytest.fixture(autouse=True)
def _no_global_uri_leak():
    """Every test leaves MLflow's tracking URI (environment and global) as it found it."""
    from mlflow.tracking._tracking_service import utils as service

    before = os.environ.get("MLFLOW_TRACKING_URI"), service._tracking_uri
    yield
    assert (os.environ.get("MLFLOW_TRACKING_URI"), service._tracking_uri) == before
    assert mlflow.active_run() is None


# ----------------------------------------------------------------------------- where runs go


def test_tracking_uri_follows_mlflow_rules(monkeypatch, tmp_path):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)
    assert tracking.resolve_tracking_uri() == f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:1")
    assert tracking.resolve_tracking_uri() == "http://127.0.0.1:1"
    assert tracking.resolve_tracking_uri("sqlite:///x.db") == "sqlite:///x.db"


def test_experiment_from_option_env_config(monkeypatch):
    monkeypatch.delenv("MLFLOW_EXPERIMENT_NAME", raising=False)
    cfg = config_from_dict({"tracking": {"experiment": "from-config"}})
    assert tracking.resolve_experiment(None, Config()) == "vipml"
    assert tracking.resolve_experiment(None, cfg) == "from-config"
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "from-env")
    assert tracking.resolve_experiment(None, cfg) == "from-env"
    assert tracking.resolve_experiment("explicit", cfg) == "explicit"


def test_unreachable_server_fails_fast_naming_uri_and_way_out():
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens on a port just released
    with pytest.raises(TrackingError, match="--no-tracking") as info:
        tracking.check_tracking_reachable(dead, timeout=2)
    assert dead in str(info.value)
    assert "connection refused" in str(info.value)


def test_tracked_run_refuses_dead_server_before_starting(tmp_path):
    dead = f"http://127.0.0.1:{free_port()}"
    entered = []
    with pytest.raises(TrackingError, match="cannot be reached"):
        with tracking.tracked_run("x", tracking_uri=dead):
            entered.append(True)
    assert entered == []


def test_local_store_in_missing_folder_is_refused(tmp_path):
    missing = f"sqlite:///{tmp_path / 'no' / 'such' / 'mlflow.db'}"
    with pytest.raises(TrackingError, match="does not exist.*--no-tracking"):
        tracking.check_tracking_reachable(missing)
    assert tracking.check_tracking_reachable(f"sqlite:///{tmp_path / 'mlflow.db'}")


# ----------------------------------------------------------------------------- runs


def test_run_logs_config_data_metrics_figures_tags(uri, artifacts, tx, tmp_path):
    from vipml.plots import new_figure

    cfg = config_from_dict(LIGHT)
    fig, ax = new_figure()
    ax.plot([0, 1], [0, 1])
    report = tmp_path / "report.html"
    report.write_text("<html></html>")
    with tracking.tracked_run(
        "runs", "unit", cfg, command="train", tracking_uri=uri, artifact_location=artifacts
    ) as run:
        data = run.log_data(tx, cutoff=CUTOFF, horizon="26W")
        logged = run.log_metrics({"future_vip": {"roc_auc": 0.8, "brier": float("nan")}})
        run.log_figures({"lift": fig})
        run.log_artifacts([report, tmp_path / "missing.txt"])
    client = MlflowClient(uri)
    done = client.get_run(run.run_id)
    assert done.info.status == "FINISHED"
    params = done.data.params
    flat = flatten_config(cfg)
    assert params["lightgbm.n_estimators"] == str(flat["lightgbm.n_estimators"]) == "60"
    assert params["vip.mode"] == "dynamic"
    assert json.loads(params["features.windows_days"]) == [91, 182, 365]
    assert params["data.rows"] == str(len(tx)) == "6919"
    assert params["data.customers"] == "2357"
    assert params["cutoff"] == "1997-12-31" and params["horizon"] == "26W"
    assert params["data.fingerprint"] == tracking.data_fingerprint(tx) == data["data.fingerprint"]
    assert logged == {"future_vip_roc_auc": 0.8}  # NaN left out
    assert done.data.metrics == {"future_vip_roc_auc": 0.8}
    tags = done.data.tags
    assert tags["vipml.command"] == "train"
    assert tags["versions.vipml"] == tracking.library_versions()["vipml"]
    assert tags["versions.mlflow"] == mlflow.__version__
    names = {a.path for a in client.list_artifacts(run.run_id)}
    assert {"config.yaml", "report.html", "plots"} <= names
    assert [a.path for a in client.list_artifacts(run.run_id, "plots")] == ["plots/lift.png"]
    assert Path(done.info.artifact_uri.removeprefix("file://")).is_relative_to(artifacts)
    inputs = done.inputs.dataset_inputs
    assert [d.dataset.digest for d in inputs] == [data["data.fingerprint"]]


def test_failing_block_marks_run_failed_and_passes_error_through(uri, artifacts):
    with pytest.raises(ZeroDivisionError):
        with tracking.tracked_run("runs", tracking_uri=uri, artifact_location=artifacts) as run:
            1 / 0  # noqa: B018
    assert MlflowClient(uri).get_run(run.run_id).info.status == "FAILED"


def test_logging_failure_after_training_says_where_the_bundle_is(uri, artifacts, tmp_path):
    bundle = tmp_path / "my-bundle"
    with pytest.raises(TrackingError) as info:
        with tracking.tracked_run("runs", tracking_uri=uri, artifact_location=artifacts) as run:
            run.bundle_dir = bundle
            run.log_params({"cutoff": "1997-09-30"})
            run.client.log_param(run.run_id, "horizon", "26W")
            run.log_params({"horizon": "52W"})  # MLflow params are immutable: MLflow refuses
    message = str(info.value)
    assert uri in message and str(bundle) in message and "nothing is lost" in message
    assert "vipml register" in message and "--no-tracking" in message
    assert MlflowClient(uri).get_run(run.run_id).info.status == "FAILED"


def test_flatten_metrics_and_direction():
    nested = {"churn": {"lightgbm": {"brier": 0.1}, "days_since_last": pd.Series({"auc": 0.7})}}
    assert tracking.flatten_metrics(nested) == {
        "churn_lightgbm_brier": 0.1,
        "churn_days_since_last_auc": 0.7,
    }
    assert tracking.metric_direction("churn_lightgbm_brier") == "min"
    assert tracking.metric_direction("future_vip_lift_top_decile") == "max"


# ----------------------------------------------------------------------------- a trained model


@pytest.fixture(scope="module")
def registered(uri, artifacts, tx, trained):
    """One training run logged like `vipml train` does: (run id, metrics, LoggedVersion)."""
    model, bundle = trained
    with tracking.tracked_run(
        "models",
        "train",
        model.config,
        command="train",
        tracking_uri=uri,
        artifact_location=artifacts,
    ) as run:
        metrics = run.log_training(model, bundle, tx)
        logged = run.log_model_bundle(bundle, tx)
    return run.run_id, metrics, logged


def test_training_run_holds_params_metrics_and_artifacts(uri, tx, trained, registered):
    model, bundle = trained
    run_id, metrics, _ = registered
    client = MlflowClient(uri)
    done = client.get_run(run_id)
    params = done.data.params
    seen = tx[tx["timestamp"] <= CUTOFF]
    assert params["cutoff"] == "1997-12-31" and params["horizon"] == "26W"
    assert params["data.rows"] == str(len(seen)) and params["data.end"] == "1997-12-31"
    assert params["data.customers"] == str(seen["customer_id"].nunique())
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert params["data.fingerprint"] == model.data_fingerprint == manifest["data_fingerprint"]
    assert params["n_features"] == str(len(model.feature_names))
    assert json.loads(params["training.cutoffs"]) == model.training["cutoffs"]
    assert params["lightgbm.n_estimators"] == "60"
    logged = done.data.metrics
    assert logged == metrics
    assert (
        logged["future_vip_average_precision"] == model.metrics["future_vip"]["average_precision"]
    )
    spend = model.metrics["future_vip"]["baselines"]["spend_12m"]["roc_auc"]
    assert logged["future_vip_baselines_spend_12m_roc_auc"] == spend
    assert logged["churn_roc_auc"] == model.metrics["churn"]["roc_auc"]
    assert logged["btyd_r"] == model.btyd.purchase_model_.params_["r"]
    assert logged["btyd_gamma_gamma_q"] == model.btyd.gamma_gamma_.params_["q"]
    assert logged["btyd_log_likelihood"] == model.btyd.purchase_model_.log_likelihood_
    names = {a.path for a in client.list_artifacts(run_id)}
    assert {"config.yaml", "features.json", "manifest.json"} <= names
    models = client.search_logged_models(experiment_ids=[done.info.experiment_id])
    # the transaction-level model and the per-customer one (for spark_udf)
    assert [m.source_run_id for m in models] == [run_id, run_id]
    assert sorted(m.name for m in models) == ["customers_model", "model"]
    features = json.loads(
        Path(
            mlflow.artifacts.download_artifacts(
                run_id=run_id, artifact_path="features.json", tracking_uri=uri
            )
        ).read_text()
    )
    assert features == model.feature_names


def test_pyfunc_is_registered_challenger_without_pickles(uri, registered, tmp_path, monkeypatch):
    run_id, _, logged = registered
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)  # MLflow resolves models:/m-... globally
    client = MlflowClient(uri)
    version = client.get_model_version_by_alias("vipml", "challenger")
    assert (str(version.version), version.run_id) == (logged.version, run_id)
    assert version.tags["cutoff"] == "1997-12-31"
    local = Path(
        mlflow.artifacts.download_artifacts(
            artifact_uri=logged.model_uri, dst_path=str(tmp_path), tracking_uri=uri
        )
    )
    files = {p.relative_to(local).as_posix() for p in local.rglob("*") if p.is_file()}
    assert not [f for f in files if f.endswith((".pkl", ".pickle", ".cloudpickle"))], files
    assert "artifacts/vipml-model/manifest.json" in files
    spec = yaml.safe_load((local / "MLmodel").read_text())
    assert spec["flavors"]["python_function"]["loader_module"] == "mlflow.pyfunc.loaders.code_model"
    signature = spec["signature"]
    inputs = {c["name"]: c for c in json.loads(signature["inputs"])}
    assert {n for n, c in inputs.items() if c["required"]} == {
        "customer_id",
        "timestamp",
        "revenue",
    }
    # the contract as text: CSV and JSON need no typing; every optional column is declared
    assert inputs["timestamp"]["type"] == "string" and inputs["customer_id"]["type"] == "string"
    assert inputs["revenue"]["type"] == "double"
    assert {"cost", "list_price", "quantity", "unit_price", "category", "is_return", "order_id",
            "product_id", "profit", "discount"} <= set(inputs)
    assert inputs["cost"]["type"] == "double" and not inputs["cost"]["required"]
    outputs = [c["name"] for c in json.loads(signature["outputs"])]
    assert outputs[:11] == [
        "customer_id",
        "spend_12m",
        "profit_12m",
        "orders_12m",
        "days_since_last",
        "p_alive",
        "expected_purchases",
        "clv",
        "clv_profit",
        "p_future_vip",
        "p_churn",
    ]
    assert [p["name"] for p in json.loads(signature["params"])] == ["cutoff", "segments"]


def test_load_by_alias_predicts_the_scores_table(uri, tx, trained, registered, monkeypatch):
    from vipml.bundle import load_model
    from vipml.pipeline import score
    from vipml.pipeline.scoring import score_customers

    _, bundle = trained
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    pyfunc = mlflow.pyfunc.load_model("models:/vipml@challenger")
    local = load_model(bundle)
    text = tracking.as_model_input(tx)  # the contract as text, as CSV and JSON carry it
    # the same customers, their ids as text
    by_text = tx.assign(customer_id=tx["customer_id"].astype(str))

    def same(got: pd.DataFrame, expected: pd.DataFrame) -> None:
        pd.testing.assert_frame_equal(got, expected, check_dtype=False)

    same(pyfunc.predict(text), score(local, by_text, tx["timestamp"].max()))
    at = pyfunc.predict(text, params={"cutoff": "1998-03-31"})
    same(at, score(local, by_text, "1998-03-31"))
    assert at.attrs["cutoff"] == "1998-03-31"
    # segments on request: the same table as the scoring service gives in memory
    segmented = pyfunc.predict(text, params={"cutoff": "1998-03-31", "segments": "true"})
    expected = score_customers(
        local, by_text, "1998-03-31", reasons="all", allow_missing=()
    ).table
    same(segmented, expected)
    assert {"segment", "tier", "treatment"} <= set(segmented.columns)
    with pytest.raises(Exception, match="not a date"):
        pyfunc.predict(text, params={"cutoff": "soon"})


def test_resolve_model_uri_downloads_the_bundle(uri, trained, registered, tmp_path):
    from vipml.bundle import load_model

    _, bundle = trained
    run_id, _, _ = registered
    assert tracking.resolve_model_uri(bundle) == bundle
    local = tracking.resolve_model_uri("models:/vipml@challenger", tmp_path, tracking_uri=uri)
    assert sorted(p.name for p in local.iterdir()) == sorted(p.name for p in bundle.iterdir())
    assert (local / "manifest.json").read_bytes() == (bundle / "manifest.json").read_bytes()
    assert load_model(local).feature_names == trained[0].feature_names
    with pytest.raises(TrackingError, match="vipml promote"):
        tracking.resolve_model_uri("models:/vipml@champion", tmp_path / "x", tracking_uri=uri)
    with pytest.raises(ModelFormatError, match="not a vipml model"):
        tracking.resolve_model_uri(
            f"runs:/{run_id}/features.json", tmp_path / "y", tracking_uri=uri
        )


def _source(client: MlflowClient, registered) -> str:
    """Where the registered pyfunc model's files are (a registry version's source)."""
    model_id = registered[2].model_uri.removeprefix("models:/")
    return client.get_logged_model(model_id).artifact_location


def _version(client: MlflowClient, name: str, source: str, metric: float | None, uri, artifacts):
    """A registry version of `name` whose run logged future_vip_average_precision=metric."""
    with tracking.tracked_run("promote", tracking_uri=uri, artifact_location=artifacts) as run:
        if metric is not None:
            run.log_metrics({"future_vip_average_precision": metric})
    with contextlib.suppress(MlflowException):  # already registered
        client.create_registered_model(name)
    version = client.create_model_version(name, source, run_id=run.run_id)
    client.set_registered_model_alias(name, "challenger", version.version)
    return str(version.version)


def test_promote_moves_champion_only_when_better(uri, artifacts, registered):
    client = MlflowClient(uri)
    source = _source(client, registered)
    name, metric = "promote-test", "future_vip_average_precision"
    first = _version(client, name, source, 0.40, uri, artifacts)
    result = tracking.promote(name, metric, tracking_uri=uri)
    assert result.promoted and result.champion_version is None
    assert str(client.get_model_version_by_alias(name, "champion").version) == first

    worse = _version(client, name, source, 0.35, uri, artifacts)
    result = tracking.promote(name, metric, tracking_uri=uri)
    assert not result.promoted
    assert (result.champion_version, result.champion_value) == (first, 0.40)
    assert (result.challenger_version, result.challenger_value) == (worse, 0.35)
    assert "0.4" in "\n".join(result.lines()) and "0.35" in "\n".join(result.lines())
    assert str(client.get_model_version_by_alias(name, "champion").version) == first

    forced = tracking.promote(name, metric, force=True, tracking_uri=uri)
    assert forced.promoted and "--force" in forced.reason
    assert str(client.get_model_version_by_alias(name, "champion").version) == worse
    assert str(client.get_model_version_by_alias(name, "previous_champion").version) == first

    better = _version(client, name, source, 0.50, uri, artifacts)
    assert tracking.promote(name, metric, tracking_uri=uri).promoted
    assert str(client.get_model_version_by_alias(name, "champion").version) == better


def test_promote_moves_the_per_customer_model_with_its_run(uri, artifacts, tx, trained):
    model, bundle = trained
    with tracking.tracked_run(
        "companion", "train", model.config, command="train", tracking_uri=uri,
        artifact_location=artifacts,
    ) as run:
        run.log_training(model, bundle, tx)
        logged = run.log_model_bundle(bundle, tx, registered_model="companion")
    client = MlflowClient(uri)
    challenger = client.get_model_version_by_alias("companion-customers", "challenger")
    assert challenger.run_id == run.run_id and logged.name == "companion"
    assert tracking.promote("companion", "future_vip_average_precision", tracking_uri=uri).promoted
    main = client.get_model_version_by_alias("companion", "champion")
    per_customer = client.get_model_version_by_alias("companion-customers", "champion")
    assert per_customer.run_id == main.run_id == run.run_id


def test_promote_errors_name_the_fix(uri, artifacts, registered):
    with pytest.raises(TrackingError, match="no registered model 'nobody'"):
        tracking.promote("nobody", tracking_uri=uri)
    client = MlflowClient(uri)
    _version(client, "no-metric", _source(client, registered), None, uri, artifacts)
    with pytest.raises(TrackingError, match="has no metric 'future_vip_average_precision'"):
        tracking.promote("no-metric", tracking_uri=uri)


def test_cli_promote_prints_both_sides(uri, artifacts, registered, monkeypatch):
    from vipml.cli import app

    client = MlflowClient(uri)
    source = _source(client, registered)
    _version(client, "cli-promote", source, 0.30, uri, artifacts)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    runner = CliRunner()
    first = runner.invoke(app, ["promote", "--model-name", "cli-promote"])
    assert first.exit_code == 0, first.output
    second_version = _version(client, "cli-promote", source, 0.20, uri, artifacts)
    second = runner.invoke(app, ["promote", "--model-name", "cli-promote"])
    assert second.exit_code == 0, second.output
    assert "champion" in second.output and "challenger" in second.output
    assert "0.3" in second.output and "0.2" in second.output and "not better" in second.output
    assert f"version {second_version}" in second.output
    missing = runner.invoke(app, ["promote", "--model-name", "cli-promote", "--metric", "nope"])
    assert missing.exit_code == 1 and "has no metric 'nope'" in missing.output


def test_cli_register_logs_a_saved_bundle_later(uri, artifacts, trained, monkeypatch, tmp_path):
    """The way back after --no-tracking or a logging failure: nothing trained is lost."""
    from vipml.cli import app

    model, bundle = trained
    client = MlflowClient(uri)
    client.create_experiment("later", artifact_location=(artifacts / "later").as_uri())
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(
        app,
        [
            "register",
            "--model",
            str(bundle),
            "--transactions",
            "cdnow-sample",
            "--experiment",
            "later",
            "--model-name",
            "registered-later",
        ],
    )
    assert result.exit_code == 0, result.output
    version = client.get_model_version_by_alias("registered-later", "challenger")
    run = client.get_run(version.run_id)
    assert run.data.tags["vipml.command"] == "register"
    assert run.data.params["data.fingerprint"] == model.data_fingerprint
    assert (
        run.data.metrics["future_vip_average_precision"]
        == model.metrics["future_vip"]["average_precision"]
    )
    assert "models:/registered-later/1" in result.output
    assert not (tmp_path / "mlruns").exists()


# ----------------------------------------------------------------------------- the CLI wiring


def test_cli_train_fails_fast_before_reading_data(monkeypatch, tmp_path):
    from vipml.cli import app

    dead = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", dead)
    args = ["train", "--transactions", "cdnow-sample", "--model-out", str(tmp_path / "b")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1
    assert dead in result.output and "--no-tracking" in result.output
    assert "transactions:" not in result.output  # failed before the data were read
    assert not (tmp_path / "b").exists()


def test_cli_no_tracking_trains_without_mlflow(monkeypatch, tmp_path):
    from vipml.cli import app

    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{free_port()}")
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "light.yaml"
    config.write_text(yaml.safe_dump(LIGHT))
    args = ["train", "--transactions", "cdnow-sample", "--cutoff", "1997-12-31"]
    args += ["--model-out", str(tmp_path / "b"), "--config", str(config), "--no-tracking"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "b" / "manifest.json").exists()
    assert "MLflow" not in result.output
    assert not (tmp_path / "mlflow.db").exists() and not (tmp_path / "mlruns").exists()


def test_cli_score_takes_a_model_uri_like_a_path(uri, trained, registered, monkeypatch, tmp_path):
    from vipml.cli import app

    _, bundle = trained
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    runner = CliRunner()
    common = ["score", "--transactions", "cdnow-sample", "--cutoff", "1998-06-30"]
    by_uri = runner.invoke(
        app, [*common, "--model", "models:/vipml@challenger", "--out", str(tmp_path / "a.parquet")]
    )
    assert by_uri.exit_code == 0, by_uri.output
    by_path = runner.invoke(
        app, [*common, "--model", str(bundle), "--out", str(tmp_path / "b.parquet")]
    )
    assert by_path.exit_code == 0, by_path.output
    a, b = pd.read_parquet(tmp_path / "a.parquet"), pd.read_parquet(tmp_path / "b.parquet")
    assert len(a) == 2357
    pd.testing.assert_frame_equal(a, b)
    missing = runner.invoke(
        app, [*common, "--model", "models:/vipml@nobody", "--out", str(tmp_path / "c.csv")]
    )
    assert missing.exit_code == 1 and "models:/vipml@nobody" in missing.output
