"""vipml.tracking against a real SQLite MLflow store in tmp_path (no mocks).

One store per module (creating an MLflow database runs its migrations, ~10 s), one real model
trained on the CDNOW sample with a light config; each test uses its own experiment or
registered-model name.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from vipml import tracking
from vipml.config import Config, config_from_dict, flatten_config
from vipml.data.datasets import load_cdnow
from vipml.errors import TrackingError

CUTOFF = pd.Timestamp("1997-09-30")
LIGHT = {
    "training": {"max_cutoffs": 2},
    "lightgbm": {"n_estimators": 60, "early_stopping_rounds": 10},
}


def migrated_store(tmp_path_factory: pytest.TempPathFactory, name: str) -> tuple[str, Path]:
    """A fresh SQLite store (URI, folder) copied from a once-per-session migrated template.

    The template is created with the working directory in its own folder, so even MLflow's
    ``Default`` experiment points there and never into the repository.
    """
    template = tmp_path_factory.getbasetemp() / "mlflow-template" / "mlflow.db"
    if not template.exists():
        template.parent.mkdir(exist_ok=True)
        building = template.with_name("building.db")
        cwd = os.getcwd()
        os.chdir(template.parent)
        try:
            MlflowClient(f"sqlite:///{building}").search_experiments()
        finally:
            os.chdir(cwd)
        os.replace(building, template)
    folder = tmp_path_factory.mktemp(name)
    shutil.copy(template, folder / "mlflow.db")
    return f"sqlite:///{folder / 'mlflow.db'}", folder


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    return migrated_store(tmp_path_factory, "tracking-store")


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
    """Every test leaves MLflow's global tracking URI as it found it."""
    before = os.environ.get("MLFLOW_TRACKING_URI")
    yield
    assert os.environ.get("MLFLOW_TRACKING_URI") == before
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
    assert params["cutoff"] == "1997-09-30" and params["horizon"] == "26W"
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
