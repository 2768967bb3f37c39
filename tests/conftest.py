"""Shared test fixtures."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest


def _load_scores_helper() -> ModuleType:
    """``tests/_scores.py`` (tests are not a package), loaded once."""
    name = "vipml_test_scores"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).parent / "_scores.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The notebooks (run by nbmake) are slow tests too."""
    for item in items:
        if item.path.suffix == ".ipynb":
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def spark():
    """One local Spark session (``local[2]``, bound to 127.0.0.1) for every Spark test."""
    pytest.importorskip("pyspark")
    from vipml import spark as vs

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    session = vs.spark_session("local[2]", app_name="vipml-tests", shuffle_partitions=4)
    yield session
    session.stop()


@pytest.fixture(scope="session")
def scores_helper() -> ModuleType:
    """Scores tables built from real data (:mod:`_scores`)."""
    return _load_scores_helper()


@pytest.fixture(scope="session")
def migrated_store(
    tmp_path_factory: pytest.TempPathFactory,
) -> Callable[[str], tuple[str, Path]]:
    """``migrated_store(name)``: a fresh SQLite MLflow store (URI, folder) copied from a
    once-per-session migrated template (migrating a store takes seconds).

    The template is created with the working directory in its own folder, so even MLflow's
    ``Default`` experiment points there and never into the repository.
    """
    from mlflow.tracking import MlflowClient

    template = tmp_path_factory.getbasetemp() / "mlflow-template" / "mlflow.db"

    def make(name: str) -> tuple[str, Path]:
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

    return make
