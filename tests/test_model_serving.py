"""The logged pyfunc model as a batch job or a server uses it: the contract as text, CSV and
JSON through `mlflow models predict`, optional columns such as `cost`, string ids (issue 19).

A real SQLite store and the real MLflow CLI (``--env-manager local``: the test's environment).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest

from vipml import tracking
from vipml.config import config_from_dict
from vipml.data.datasets import load_cdnow
from vipml.pipeline import score, train

CUTOFF = pd.Timestamp("1997-12-31")
LIGHT = {"training": {"max_cutoffs": 2}, "lightgbm": {"n_estimators": 40, "num_threads": 1}}
SCORES = ["p_future_vip", "p_churn", "clv", "p_alive", "spend_12m"]


@pytest.fixture(scope="module")
def tx() -> pd.DataFrame:
    """The CDNOW sample with a cost column (60% of revenue) and ids that are not numbers."""
    data = load_cdnow(sample=True)
    return data.assign(
        customer_id="C-" + data["customer_id"].astype(str), cost=data["revenue"] * 0.6
    )


@pytest.fixture(scope="module")
def logged(tx, migrated_store, tmp_path_factory) -> tuple[Path, Path]:
    """(bundle folder, the logged pyfunc model downloaded to a local folder)."""
    uri, folder = migrated_store("serving-store")
    model = train(tx, CUTOFF, "26W", config=config_from_dict(LIGHT))
    bundle = tmp_path_factory.mktemp("bundle") / "vipml-model"
    model.save(bundle)
    with tracking.tracked_run(
        "serving", "train", model.config, command="train", tracking_uri=uri,
        artifact_location=folder / "artifacts",
    ) as run:
        version = run.log_model_bundle(bundle, tx, registered_model=None)
    before = os.environ.get("MLFLOW_TRACKING_URI")
    os.environ["MLFLOW_TRACKING_URI"] = uri  # MLflow resolves models:/m-... globally
    try:
        local = Path(
            mlflow.artifacts.download_artifacts(
                artifact_uri=version.model_uri, dst_path=str(tmp_path_factory.mktemp("model")),
                tracking_uri=uri,
            )
        )
    finally:
        if before is None:
            os.environ.pop("MLFLOW_TRACKING_URI")
        else:
            os.environ["MLFLOW_TRACKING_URI"] = before
    return bundle, local


def _expected(bundle: Path, tx: pd.DataFrame, cutoff: pd.Timestamp = CUTOFF) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return score(vipml_model(bundle), tx, cutoff).set_index("customer_id")


def vipml_model(bundle: Path):
    from vipml.bundle import load_model

    return load_model(bundle)


def _mlflow_predict(model: Path, path: Path, content_type: str, out: Path) -> pd.DataFrame:
    """`mlflow models predict` as a batch job runs it; its JSON output as a frame."""
    cli = Path(sys.executable).with_name("mlflow")
    done = subprocess.run(
        [str(cli), "models", "predict", "-m", str(model), "-i", str(path), "-t", content_type,
         "-o", str(out), "--env-manager", "local"],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "MLFLOW_TRACKING_URI": ""},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return pd.DataFrame(json.loads(out.read_text())["predictions"]).set_index("customer_id")


def test_the_signature_declares_the_contract_as_text(logged):
    spec = mlflow.models.Model.load(str(logged[1] / "MLmodel")).signature
    inputs = {c.name: c for c in spec.inputs.inputs}
    assert {n for n, c in inputs.items() if c.required} == {"customer_id", "timestamp", "revenue"}
    kinds = {n: c.type.name for n, c in inputs.items()}
    assert kinds["customer_id"] == kinds["timestamp"] == "string"
    assert kinds["cost"] == "double" and not inputs["cost"].required


def test_csv_through_mlflow_models_predict_equals_vipml_score(logged, tx, tmp_path):
    bundle, model = logged
    past = tx[tx["timestamp"] <= CUTOFF]  # a CSV carries no params: the cutoff is its last day
    source = tmp_path / "tx.csv"
    tracking.as_model_input(past).to_csv(source, index=False)
    got = _mlflow_predict(model, source, "csv", tmp_path / "out.json")
    expected = _expected(bundle, past, past["timestamp"].max())
    assert set(got.index) == set(expected.index)  # string ids survive the trip
    for column in SCORES:
        np.testing.assert_allclose(
            got.loc[expected.index, column].to_numpy(float), expected[column].to_numpy(float),
            rtol=1e-9, err_msg=column,
        )
    # the cost column reached the model: margins are measured, not assumed
    assert (got["margin_assumed"] == 0).all()


def test_json_through_mlflow_models_predict_equals_vipml_score(logged, tx, tmp_path):
    bundle, model = logged
    few = tx[tx["customer_id"].isin(tx["customer_id"].unique()[:50])]
    request = {"dataframe_split": json.loads(
        tracking.as_model_input(few).to_json(orient="split", index=False)
    ), "params": {"cutoff": "1997-12-31"}}
    source = tmp_path / "request.json"
    source.write_text(json.dumps(request))
    got = _mlflow_predict(model, source, "json", tmp_path / "out.json")
    expected = _expected(bundle, few)
    for column in SCORES:
        np.testing.assert_allclose(
            got.loc[expected.index, column].to_numpy(float), expected[column].to_numpy(float),
            rtol=1e-9, err_msg=column,
        )


def test_the_model_carries_vipml_and_loads_where_vipml_is_not_installed(logged, tx, tmp_path):
    """A machine without vipml: a fresh virtual environment that sees the dependencies (the
    test environment's site-packages, added as a path) but not vipml, runs `mlflow models
    predict`; vipml comes from the model's own code folder.

    Installing the requirements from a package index (`--env-manager uv` or `virtualenv`)
    needs the network, which tests must not use: the environment spec is checked below, and
    `docs/tracking.md` reports the run by hand."""
    bundle, model = logged
    requirements = (model / "requirements.txt").read_text().split()
    assert not [r for r in requirements if r.startswith("vipml")]
    assert "lightgbm>=4.3" in requirements and "pandas>=2.2" in requirements
    assert all(any(op in r for op in (">=", "==")) for r in requirements), requirements
    assert (model / "code" / "vipml" / "tracking" / "pyfunc.py").exists()
    assert not list((model / "code").rglob("__pycache__"))

    env = tmp_path / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True)
    python = env / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    # the dependencies, as a plain path: the .pth files there (vipml's editable install) are
    # not read, so vipml is not importable
    deps = Path(mlflow.__file__).resolve().parents[1]
    Path(site, "deps.pth").write_text(f"{deps}\n")
    # nothing may point the environment at vipml's source
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MLFLOW_TRACKING_URI")}
    probe = subprocess.run(
        [str(python), "-c", "import importlib.util, mlflow; "
         "print(importlib.util.find_spec('vipml') is None)"],
        capture_output=True, text=True, cwd=tmp_path, env=clean,
    )
    assert probe.stdout.strip() == "True", probe.stderr[-2000:]

    past = tx[tx["timestamp"] <= CUTOFF]
    source = tmp_path / "tx.csv"
    tracking.as_model_input(past).to_csv(source, index=False)
    out = tmp_path / "out.json"
    done = subprocess.run(
        [str(python), "-m", "mlflow", "models", "predict", "-m", str(model), "-i", str(source),
         "-t", "csv", "-o", str(out), "--env-manager", "local"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path, env=clean,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    got = pd.DataFrame(json.loads(out.read_text())["predictions"]).set_index("customer_id")
    expected = _expected(bundle, past, past["timestamp"].max())
    for column in SCORES:
        np.testing.assert_allclose(
            got.loc[expected.index, column].to_numpy(float), expected[column].to_numpy(float),
            rtol=1e-9, err_msg=column,
        )
