"""Integration: a real ``mlflow server`` on 127.0.0.1, train -> register -> load by alias -> score.

The server runs light (``--workers 1``, job execution off) on a free port with its SQLite store
and artifact destination in tmp_path, and is stopped by its pid in a ``finally``.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from vipml import tracking
from vipml.config import config_from_dict
from vipml.data.datasets import load_cdnow

pytestmark = pytest.mark.slow

CUTOFF = pd.Timestamp("1997-12-31")
LIGHT = {
    "training": {"max_cutoffs": 2},
    "lightgbm": {"n_estimators": 60, "early_stopping_rounds": 10},
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_healthy(url: str, process: subprocess.Popen, log: Path, limit: float = 180) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"mlflow server exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    pytest.fail(f"mlflow server did not answer /health within {limit:g} s:\n{log.read_text()}")


def stop(process: subprocess.Popen) -> None:
    """Stop the server and its uvicorn worker: its own process group, by its pid."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A started server: (url, folder, process, log). It boots (and creates its store) while the
    test trains; call :func:`wait_healthy` before using it."""
    folder = tmp_path_factory.mktemp("mlflow-server")
    backend = f"sqlite:///{folder / 'mlflow.db'}"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "MLFLOW_EXPERIMENT_NAME"):
        env.pop(name, None)
    log = folder / "server.log"
    command = [
        str(Path(sys.executable).parent / "mlflow"),
        "server",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--backend-store-uri",
        backend,
        "--artifacts-destination",
        str(folder / "artifacts"),
    ]
    with log.open("w") as out:
        process = subprocess.Popen(
            command,
            cwd=folder,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield url, folder, process, log
    finally:
        stop(process)


def test_train_register_load_by_alias_and_score_through_a_server(server, tmp_path, monkeypatch):
    from vipml.bundle import load_model
    from vipml.pipeline import score, train

    url, folder, process, log = server
    tx = load_cdnow(sample=True)
    cfg = config_from_dict(LIGHT)
    model = train(tx, CUTOFF, horizon="26W", config=cfg)  # while the server boots
    bundle = tmp_path / "bundle"
    model.save(bundle)
    wait_healthy(url, process, log)
    assert tracking.check_tracking_reachable(url) == url
    with tracking.tracked_run("server", "train", cfg, command="train", tracking_uri=url) as run:
        metrics = run.log_training(model, bundle, tx)
        logged = run.log_model_bundle(bundle, tx)
    assert metrics and logged.alias == "challenger" and logged.version == "1"
    client = MlflowClient(url)
    assert client.get_run(run.run_id).info.status == "FINISHED"
    # artifacts went through the server's proxy into --artifacts-destination
    assert client.get_run(run.run_id).info.artifact_uri.startswith("mlflow-artifacts:")
    assert list((folder / "artifacts").rglob("manifest.json"))

    comparison = tracking.promote("vipml", "future_vip_average_precision", tracking_uri=url)
    assert comparison.promoted and comparison.challenger_version == "1"
    assert comparison.challenger_value == metrics["future_vip_average_precision"]

    as_text = tx.assign(customer_id=tx["customer_id"].astype(str))
    expected = score(load_model(bundle), as_text, cutoff=tx["timestamp"].max())
    local = tracking.resolve_model_uri("models:/vipml@champion", tmp_path / "dl", tracking_uri=url)
    assert (local / "manifest.json").read_bytes() == (bundle / "manifest.json").read_bytes()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
    pyfunc = mlflow.pyfunc.load_model("models:/vipml@champion")
    scored = pyfunc.predict(tracking.as_model_input(tx))
    pd.testing.assert_frame_equal(scored, expected, check_dtype=False)
