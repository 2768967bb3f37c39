"""mlproject.yaml: MLflow finds it through the MLproject symlink, its entry points match the CLI,
and ``mlflow run . -e train --env-manager local`` trains, logs and registers a model."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import typer
import yaml
from mlflow.projects._project_spec import load_project
from mlflow.tracking import MlflowClient

from vipml.cli import app

ROOT = Path(__file__).resolve().parents[1]
ENTRY_POINTS = {"train", "score", "backtest", "demo"}
LIGHT_CONFIG = {
    "training": {"max_cutoffs": 2},
    "lightgbm": {"n_estimators": 60, "early_stopping_rounds": 10},
}


def test_mlproject_symlink_points_at_the_spec():
    link = ROOT / "MLproject"
    assert link.is_symlink()
    assert os.readlink(link) == "mlproject.yaml"
    assert yaml.safe_load(link.read_text())["name"] == "vipml"


def test_entry_points_have_typed_parameters():
    project = load_project(str(ROOT))  # MLflow's own parser
    assert ENTRY_POINTS <= set(project._entry_points)
    for name in ENTRY_POINTS:
        entry = project.get_entry_point(name)
        assert entry.parameters, name
        for parameter in entry.parameters.values():
            assert parameter.type in {"string", "float", "path", "uri"}
            assert parameter.default is not None, f"{name}.{parameter.name} needs a default"


@pytest.mark.parametrize("name", sorted(ENTRY_POINTS))
def test_entry_point_commands_use_existing_cli_options(name):
    """Every --option an entry point passes (and an extra -P config=...) exists in the CLI."""
    project = load_project(str(ROOT))
    extra = {"config": "vipml.yaml"} if name != "demo" else {}
    command = project.get_entry_point(name).compute_command(extra, None)
    words = shlex.split(command)
    assert words[:2] == ["vipml", name]
    click_app = typer.main.get_command(app)
    cli_command = click_app.commands[name]  # type: ignore[attr-defined]
    known = {opt for p in cli_command.params for opt in p.opts}
    passed = [w for w in words[2:] if w.startswith("--")]
    assert passed, command
    assert set(passed) <= known, f"{name}: {set(passed) - known} not options of `vipml {name}`"


@pytest.mark.slow
def test_mlflow_run_train_entry_point(migrated_store):
    uri, folder = migrated_store("mlproject-store")
    client = MlflowClient(uri)
    experiment_id = client.create_experiment(
        "mlproject", artifact_location=(folder / "artifacts").as_uri()
    )
    config = folder / "light.yaml"
    config.write_text(yaml.safe_dump(LIGHT_CONFIG))
    bundle = folder / "bundle"
    bin_dir = Path(sys.executable).parent
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": uri,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "MPLBACKEND": "Agg",
    }
    env.pop("MLFLOW_EXPERIMENT_NAME", None)
    env.pop("MLFLOW_RUN_ID", None)
    stores_before = {"mlflow.db", "mlruns", "mlartifacts"} & set(os.listdir(ROOT))
    result = subprocess.run(
        [
            str(bin_dir / "mlflow"),
            "run",
            str(ROOT),
            "-e",
            "train",
            "-P",
            "transactions=cdnow-sample",
            "-P",
            "cutoff=1997-12-31",
            "-P",
            f"model_out={bundle}",
            "-P",
            f"config={config}",
            "--env-manager",
            "local",
            "--experiment-name",
            "mlproject",
        ],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    runs = client.search_runs([experiment_id])
    assert len(runs) == 1, "vipml must log into the run `mlflow run` created, not a second one"
    run = runs[0]
    assert run.info.status == "FINISHED"
    assert run.data.tags["mlflow.project.entryPoint"] == "train"
    assert run.data.tags["vipml.command"] == "train"
    assert run.data.params["cutoff"] == "1997-12-31"
    assert run.data.params["lightgbm.n_estimators"] == "60"
    assert run.data.metrics
    assert (bundle / "manifest.json").exists()
    version = client.get_model_version_by_alias("vipml", "challenger")
    assert version.run_id == run.info.run_id
    stores = {"mlflow.db", "mlruns", "mlartifacts"}
    assert stores & set(os.listdir(ROOT)) <= stores_before, "nothing written into the repo"
