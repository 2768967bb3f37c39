"""What a run holds: :func:`tracked_run` and the :class:`TrackedRun` it yields.

:func:`tracked_run` opens a run (or joins the one ``mlflow run`` started) and yields a
:class:`TrackedRun`; its ``log_*`` methods record params (the flattened config, cutoff, horizon,
data fingerprint, row and customer counts), metrics (backtest metrics of the models and the
baselines, BTYD parameters and log-likelihood), artifacts (plots, feature list, config,
manifest) and tags (vipml and library versions): :meth:`TrackedRun.log_training` does it for a
trained model, :meth:`TrackedRun.log_backtest` for a backtest, and
:meth:`TrackedRun.log_model_bundle` logs the saved bundle as a registered pyfunc model
(:mod:`vipml.tracking.pyfunc`). Any failure of MLflow itself becomes a ``TrackingError`` that
says where the trained bundle was saved, so nothing trained is lost (``vipml register`` logs a
saved bundle later).

Examples
--------
>>> versions = library_versions()
>>> import vipml
>>> versions["vipml"] == vipml.__version__ and "mlflow" in versions
True
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import time
import warnings
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
import yaml
from mlflow.data.pandas_dataset import from_pandas
from mlflow.entities import Metric, Param, RunTag
from mlflow.environment_variables import MLFLOW_RUN_ID
from mlflow.tracking import MlflowClient

from vipml.bundle import data_fingerprint
from vipml.bundle import library_versions as bundle_library_versions
from vipml.config import config_to_dict, flatten_config
from vipml.errors import ModelFormatError, TrackingError, VipmlError
from vipml.plots.classifier import calibration_curve, lift_chart
from vipml.tempfiles import scratch
from vipml.tracking.metrics import btyd_metrics, flatten_metrics, flatten_params, param_text
from vipml.tracking.pyfunc import (
    BUNDLE_KEY,
    CUSTOMERS_ARTIFACT,
    CUSTOMERS_MODEL_CODE,
    MODEL_ARTIFACT,
    MODEL_CODE,
    as_model_input,
    customers_example,
    customers_signature,
    example_transactions,
    model_metadata,
    model_signature,
    pip_requirements,
    vipml_code_path,
)
from vipml.tracking.registry import CHALLENGER, DEFAULT_MODEL_NAME
from vipml.tracking.uri import (
    NO_TRACKING_HINT,
    check_tracking_reachable,
    experiment_id,
    resolve_experiment,
    short_message,
    tracking_uri_set,
)
from vipml.version import __version__

__all__ = ["LoggedVersion", "TrackedRun", "tracked_run", "library_versions"]

logger = logging.getLogger(__name__)

#: Libraries whose versions tag a run besides a bundle's (:func:`library_versions`).
_RUN_LIBRARIES = ("mlflow", "pyarrow", "matplotlib")


def library_versions() -> dict[str, str]:
    """Versions of vipml, Python, MLflow and the libraries its models depend on (run tags;
    :func:`vipml.bundle.library_versions` with MLflow, pyarrow and matplotlib).

    Returns
    -------
    dict of str to str
        Library name to version (``not installed`` for a missing one).

    Examples
    --------
    >>> versions = library_versions()
    >>> import vipml
    >>> versions["vipml"] == vipml.__version__ and "mlflow" in versions
    True
    """
    return bundle_library_versions(_RUN_LIBRARIES)


@dataclasses.dataclass(frozen=True)
class LoggedVersion:
    """A model logged in a run and, when registered, its registry version.

    Attributes
    ----------
    model_uri
        ``models:/m-<id>``: the logged model itself.
    run_id
        The run that logged it.
    name
        Registered model name (None when not registered).
    version
        Its version in the registry.
    alias
        The alias given to that version (``challenger``), if any.

    Examples
    --------
    >>> LoggedVersion("models:/m-1a2b", "9f8e", "vipml", "3", "challenger").registry_uri
    'models:/vipml/3'
    >>> LoggedVersion("models:/m-1a2b", "9f8e").registry_uri is None
    True
    """

    model_uri: str
    run_id: str
    name: str | None = None
    version: str | None = None
    alias: str | None = None

    @property
    def registry_uri(self) -> str | None:
        """``models:/<name>/<version>``, or None when not registered."""
        return f"models:/{self.name}/{self.version}" if self.name else None


class TrackedRun:
    """One MLflow run of a vipml command; every method logs to it (see :func:`tracked_run`).

    Any failure inside MLflow becomes a :class:`~vipml.errors.TrackingError` naming the
    tracking URI, what was being logged and, once :attr:`bundle_dir` is known, where the
    trained bundle is saved.

    Parameters
    ----------
    client
        The MLflow client of the tracking store.
    run
        The MLflow run (its ``info.run_id`` and ``info.experiment_id``).
    tracking_uri
        The tracking store, named in errors.
    experiment
        The experiment's name.

    Examples
    --------
    :func:`tracked_run` makes them; nothing is sent to MLflow when there is nothing to log:

    >>> from types import SimpleNamespace
    >>> info = SimpleNamespace(run_id="9f8e", experiment_id="1")
    >>> run = TrackedRun(None, SimpleNamespace(info=info), "sqlite:///mlflow.db", "vipml")
    >>> run, run.log_params({}), run.log_metrics({"auc": float("nan")})
    (TrackedRun(run_id='9f8e', experiment='vipml'), {}, {})
    """

    def __init__(self, client: MlflowClient, run: Any, tracking_uri: str, experiment: str):
        self.client = client
        self.run_id: str = run.info.run_id
        self.experiment_id: str = run.info.experiment_id
        self.experiment: str = experiment
        self.tracking_uri = tracking_uri
        self.bundle_dir: Path | None = None
        """Set it as soon as a bundle is saved: tracking errors then say where it is."""
        self._params: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"TrackedRun(run_id={self.run_id!r}, experiment={self.experiment!r})"

    @property
    def artifact_uri(self) -> str:
        """Where this run's artifacts are stored."""
        return self.client.get_run(self.run_id).info.artifact_uri

    @contextlib.contextmanager
    def _guard(self, action: str) -> Iterator[None]:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                warnings.simplefilter("ignore", FutureWarning)
                yield
        except VipmlError:
            raise
        except Exception as exc:
            raise self._error(action, exc) from exc

    def _error(self, action: str, exc: BaseException) -> TrackingError:
        saved = (
            f" The trained model bundle is saved at {self.bundle_dir}: nothing is lost; log it "
            f"later with `vipml register --model {self.bundle_dir} --transactions ...`."
            if self.bundle_dir is not None
            else ""
        )
        return TrackingError(
            f"MLflow logging to {self.tracking_uri} failed while {action} (run {self.run_id}): "
            f"{short_message(exc)}.{saved} Rerun with --no-tracking to skip MLflow."
        )

    # -- params, tags, metrics --------------------------------------------------------------

    def log_params(self, params: Mapping[str, Any]) -> dict[str, str]:
        """Log params (values become text; lists and dicts as JSON); return what was logged.

        A key logged before with the same value is skipped (MLflow params are immutable).
        """
        new = {str(k): param_text(v) for k, v in params.items()}
        new = {k: v for k, v in new.items() if self._params.get(k) != v}
        if not new:
            return {}
        with self._guard("logging params"):
            items = [Param(k, v) for k, v in new.items()]
            for start in range(0, len(items), 100):
                self.client.log_batch(self.run_id, params=items[start : start + 100])
        self._params.update(new)
        return new

    def log_config(self, config: Any) -> dict[str, str]:
        """Log the flattened config as params and the whole config as ``config.yaml``."""
        logged = self.log_params(flatten_config(config))
        with self._guard("logging config.yaml"):
            self.client.log_text(
                self.run_id, yaml.safe_dump(config_to_dict(config), sort_keys=False), "config.yaml"
            )
        return logged

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        """Set run tags (values become text)."""
        with self._guard("setting tags"):
            self.client.log_batch(
                self.run_id, tags=[RunTag(str(k), param_text(v)) for k, v in tags.items()]
            )

    def log_metrics(
        self, metrics: Any, prefix: str = "", step: int | None = None
    ) -> dict[str, float]:
        """Log metrics (nested mappings are flattened with ``_``, see :func:`flatten_metrics`).

        Returns the metrics logged; non-finite values are left out.
        """
        flat = flatten_metrics(metrics, prefix)
        if not flat:
            return flat
        now = int(time.time() * 1000)
        items = [Metric(k, v, now, step or 0) for k, v in flat.items()]
        with self._guard("logging metrics"):
            for start in range(0, len(items), 1000):
                self.client.log_batch(self.run_id, metrics=items[start : start + 1000])
        return flat

    # -- data ---------------------------------------------------------------------------------

    def log_data(
        self,
        transactions: pd.DataFrame,
        *,
        cutoff: Any = None,
        horizon: Any = None,
        fingerprint: str | None = None,
        name: str = "transactions",
        context: str = "training",
    ) -> dict[str, str]:
        """Log what the run saw: rows, customers, date range, fingerprint, cutoff and horizon.

        Params ``data.rows``, ``data.customers``, ``data.start``, ``data.end``,
        ``data.fingerprint`` (:func:`vipml.bundle.data_fingerprint` unless given: ids,
        timestamps and revenue, in any row order), ``cutoff``, ``horizon``;
        the table is also recorded as an MLflow dataset input (schema, size and digest; no
        rows are copied).
        """
        tx = transactions
        params: dict[str, Any] = {"data.rows": len(tx)}
        if "customer_id" in tx:
            params["data.customers"] = int(tx["customer_id"].nunique())
        if "timestamp" in tx and len(tx):
            stamps = pd.to_datetime(tx["timestamp"])
            params["data.start"] = pd.Timestamp(stamps.min())
            params["data.end"] = pd.Timestamp(stamps.max())
        params["data.fingerprint"] = fingerprint or data_fingerprint(tx)
        if cutoff is not None:
            params["cutoff"] = pd.Timestamp(cutoff)
        if horizon is not None:
            params["horizon"] = horizon
        logged = self.log_params(params)
        active = mlflow.active_run()
        if active is not None and active.info.run_id == self.run_id:
            with self._guard("logging the dataset input"):
                dataset = from_pandas(tx, name=name, digest=params["data.fingerprint"])
                mlflow.log_input(dataset, context=context)
        return logged

    # -- artifacts ----------------------------------------------------------------------------

    def log_figures(self, figures: Mapping[str, Any], folder: str = "plots") -> list[str]:
        """Log matplotlib figures as PNG files under ``folder``; return their artifact paths."""
        paths = []
        for name, fig in figures.items():
            file = name if name.lower().endswith((".png", ".svg", ".pdf")) else f"{name}.png"
            path = f"{folder}/{file}" if folder else file
            with self._guard(f"logging the figure {path}"):
                self.client.log_figure(self.run_id, fig, path)
            paths.append(path)
        return paths

    def log_artifacts(
        self, paths: Iterable[str | os.PathLike[str]] | str | os.PathLike[str], folder: str = ""
    ) -> list[str]:
        """Log files and folders (a folder keeps its name) under ``folder``; return their paths.

        Missing paths are skipped with a warning in the log.
        """
        if isinstance(paths, str | os.PathLike):
            paths = [paths]
        logged = []
        for path in map(Path, paths):
            if not path.exists():
                logger.warning("not logging %s to MLflow: it does not exist", path)
                continue
            target = "/".join(p for p in (folder, path.name) if p)
            with self._guard(f"logging the artifact {path}"):
                if path.is_dir():
                    self.client.log_artifacts(self.run_id, str(path), target)
                else:
                    self.client.log_artifact(self.run_id, str(path), folder or None)
            logged.append(target)
        return logged

    def log_dict(self, data: Any, name: str) -> str:
        """Log plain data as a JSON or YAML artifact (chosen by the name's suffix)."""
        with self._guard(f"logging {name}"):
            if name.endswith((".yaml", ".yml")):
                text = yaml.safe_dump(data, sort_keys=False)
            else:
                text = json.dumps(data, indent=2, default=str)
            self.client.log_text(self.run_id, text, name)
        return name

    def log_text(self, text: str, name: str) -> str:
        """Log text as an artifact file ``name``."""
        with self._guard(f"logging {name}"):
            self.client.log_text(self.run_id, text, name)
        return name

    # -- a trained model ------------------------------------------------------------------------

    def log_training(
        self,
        model: Any,
        bundle_dir: str | os.PathLike[str] | None = None,
        transactions: pd.DataFrame | None = None,
    ) -> dict[str, float]:
        """Log everything a trained :class:`~vipml.bundle.VipModel` knows about itself.

        Params: the model's config (flattened), ``cutoff``, ``horizon``, ``n_features``,
        ``attributes``, ``training.*`` (training cutoffs, purchase model, rows and positive
        rates per target) and, with ``transactions``, the :meth:`log_data` params of the rows
        the model saw (up to its cutoff; the fingerprint is the bundle's). Metrics: the
        validation metrics of the models and the baselines (``future_vip_average_precision``,
        ``future_vip_baselines_spend_12m_roc_auc``, ...), BTYD parameters, log-likelihoods and
        penalizers (``btyd_r``, ``btyd_gamma_gamma_p``, ...). Artifacts: ``config.yaml``,
        ``features.json`` and the bundle's ``manifest.json``.

        Pass ``bundle_dir`` (the saved bundle) so a logging failure says where the model is.
        Returns the metrics logged.
        """
        if bundle_dir is not None:
            self.bundle_dir = Path(bundle_dir)
        manifest = getattr(model, "manifest", None) or _read_manifest(self.bundle_dir)
        config = getattr(model, "config", None)
        if config is not None:
            self.log_config(config)
        cutoff = getattr(model, "cutoff", None) or manifest.get("cutoff")
        horizon = getattr(model, "horizon", None) or manifest.get("horizon")
        features = list(getattr(model, "feature_names", None) or manifest.get("feature_names", []))
        params: dict[str, Any] = {"n_features": len(features)}
        if cutoff is not None:
            cutoff = pd.Timestamp(cutoff)
            params["cutoff"] = cutoff
        if horizon is not None:
            params["horizon"] = horizon
        if (attributes := getattr(model, "attributes", None)) is not None:
            params["attributes"] = list(attributes)
        params.update(flatten_params(getattr(model, "training", None) or {}, "training"))
        self.log_params(params)
        if transactions is not None:
            seen = transactions
            if cutoff is not None and "timestamp" in transactions:
                end = cutoff.normalize() + pd.Timedelta(days=1)
                seen = transactions.loc[pd.to_datetime(transactions["timestamp"]) < end]
            fingerprint = _find_fingerprint(model, manifest)
            self.log_data(seen, cutoff=cutoff, horizon=horizon, fingerprint=fingerprint)
        metrics = dict(self.log_metrics(getattr(model, "metrics", None) or manifest.get("metrics")))
        metrics.update(self.log_metrics(btyd_metrics(getattr(model, "btyd", None)), "btyd"))
        if features:
            self.log_dict(features, "features.json")
        if model_metrics := getattr(model, "metrics", None):
            self.log_dict(model_metrics, "metrics.json")
        if self.bundle_dir is not None and (self.bundle_dir / "manifest.json").exists():
            self.log_artifacts([self.bundle_dir / "manifest.json"])
        return metrics

    def log_backtest(
        self,
        result: Any,
        transactions: pd.DataFrame | None = None,
        figures: Mapping[str, Any] | None = None,
    ) -> dict[str, float]:
        """Log a :class:`~vipml.modeling.backtest.BacktestResult` (``vipml backtest``).

        Params: ``cutoff``, ``horizon``, the model's config and ``training.*`` and, with
        ``transactions``, the data the model saw (up to the cutoff). Metrics: the backtest
        metrics of LightGBM and of every baseline (``future_vip_average_precision``,
        ``churn_baselines_days_since_last_roc_auc``, ...), the validation-window metrics
        prefixed ``validation_``, and the BTYD parameters. Tags:
        ``vipml.beats_baselines.<target>``. Artifacts: ``backtest.json`` and the figures
        (default: the lift chart and the calibration curve) under ``plots/``.
        Returns the metrics logged.
        """
        model = getattr(result, "model", None)
        cutoff = pd.Timestamp(result.cutoff)
        if model is not None and getattr(model, "config", None) is not None:
            self.log_config(model.config)
        params: dict[str, Any] = {"cutoff": cutoff, "horizon": result.horizon}
        if model is not None:
            params["n_features"] = len(model.feature_names)
            params.update(flatten_params(getattr(model, "training", None) or {}, "training"))
        self.log_params(params)
        if transactions is not None:
            end = cutoff.normalize() + pd.Timedelta(days=1)
            seen = transactions.loc[pd.to_datetime(transactions["timestamp"]) < end]
            fingerprint = result.info.get("data_fingerprint") or None
            self.log_data(seen, cutoff=cutoff, horizon=result.horizon, fingerprint=fingerprint)
        metrics = dict(self.log_metrics(result.metrics()))
        metrics.update(self.log_metrics(result.info.get("validation"), "validation"))
        metrics.update(
            self.log_metrics(result.info.get("predicted_vip_list"), "predicted_vip_list")
        )
        if model is not None:
            metrics.update(self.log_metrics(btyd_metrics(model.btyd), "btyd"))
        self.set_tags(
            {f"vipml.beats_baselines.{k}": v for k, v in result.beats_baselines().items()}
        )
        self.log_text(result.to_json(), "backtest.json")
        if figures is None:
            figures = {
                "lift_chart": lift_chart(result),
                "calibration_curve": calibration_curve(result),
            }
        self.log_figures(figures)
        return metrics

    def log_model_bundle(
        self,
        bundle_dir: str | os.PathLike[str],
        input_example: pd.DataFrame,
        registered_model: str | None = DEFAULT_MODEL_NAME,
        alias: str | None = CHALLENGER,
        max_example_customers: int = 20,
    ) -> LoggedVersion:
        """Log a saved bundle as two pyfunc models, register them and give each ``alias``:
        the transaction-level model (``registered_model``) and the per-customer one, for
        ``mlflow.pyfunc.spark_udf`` (``<registered_model>-customers``), both carrying vipml.

        Parameters
        ----------
        bundle_dir
            The saved model bundle (``VipModel.save``); it becomes the model's only artifact.
        input_example
            Transactions in the vipml contract (e.g. the training data): all rows of the first
            ``max_example_customers`` customers become the input example, and the scores the
            model gives them define the output signature.
        registered_model
            Registry name; None logs the model without registering it.
        alias
            Alias given to the new version (``challenger``); None sets none.

        Returns
        -------
        LoggedVersion
            The logged model's URI and, when registered, the name, version and alias.
        """
        bundle_dir = Path(bundle_dir)
        self.bundle_dir = self.bundle_dir or bundle_dir
        if not (bundle_dir / "manifest.json").exists():
            raise ModelFormatError(
                f"{bundle_dir} is not a vipml model bundle (no manifest.json): save the model "
                f"with VipModel.save(dir) first"
            )
        example = as_model_input(example_transactions(input_example, max_example_customers))
        with self._guard("computing the model signatures"):
            per_customer = customers_example(bundle_dir, example)
            models = [  # (name, code, signature, example, registered name)
                (MODEL_ARTIFACT, MODEL_CODE, model_signature(bundle_dir, example), example,
                 registered_model),
                (CUSTOMERS_ARTIFACT, CUSTOMERS_MODEL_CODE,
                 customers_signature(bundle_dir, per_customer), per_customer,
                 registered_model and f"{registered_model}-customers"),
            ]
        manifest = _read_manifest(bundle_dir)
        metadata = model_metadata(manifest)
        infos = []
        with scratch("pyfunc") as tmp:
            package = vipml_code_path(Path(tmp) / "code")
            with self._guard("logging the pyfunc models"), tracking_uri_set(self.tracking_uri):
                active = mlflow.active_run()
                if active is None or active.info.run_id != self.run_id:
                    raise TrackingError(
                        f"run {self.run_id} is not the active MLflow run: log the model inside "
                        f"its `with tracked_run(...)` block"
                    )
                for name, code_text, signature, model_example, registered in models:
                    code = Path(tmp) / f"vipml_{name}.py"
                    code.write_text(code_text)
                    infos.append(mlflow.pyfunc.log_model(
                        name=name,
                        python_model=str(code),
                        artifacts={BUNDLE_KEY: str(bundle_dir)},
                        signature=signature,
                        input_example=model_example,
                        pip_requirements=pip_requirements(),
                        code_paths=[str(package)],
                        metadata=metadata,
                        registered_model_name=registered,
                    ))
        if not registered_model:
            return LoggedVersion(infos[0].model_uri, self.run_id)
        for info, (*_, registered) in zip(infos, models, strict=True):
            version = str(info.registered_model_version)
            with self._guard(f"tagging version {version} of {registered}"):
                for key, value in {
                    "vipml_version": __version__,
                    "cutoff": manifest.get("cutoff", ""),
                    "horizon": manifest.get("horizon", ""),
                    "data_fingerprint": _find_fingerprint(None, manifest) or "",
                }.items():
                    self.client.set_model_version_tag(str(registered), version, key, str(value))
                if alias:
                    self.client.set_registered_model_alias(str(registered), alias, version)
        version = str(infos[0].registered_model_version)
        self.set_tags({"vipml.registered_model": f"{registered_model}/{version}"})
        return LoggedVersion(infos[0].model_uri, self.run_id, registered_model, version, alias)


@contextlib.contextmanager
def tracked_run(
    experiment: str | None = None,
    run_name: str | None = None,
    config: Any = None,
    *,
    command: str | None = None,
    tags: Mapping[str, Any] | None = None,
    tracking_uri: str | None = None,
    artifact_location: str | os.PathLike[str] | None = None,
) -> Iterator[TrackedRun]:
    """Open an MLflow run for one vipml command; end it FINISHED, or FAILED on an error.

    Inside ``mlflow run`` (``MLFLOW_RUN_ID`` set) the run MLflow started is joined and its
    experiment kept. Otherwise the experiment (:func:`resolve_experiment`) is created when
    missing, with ``artifact_location`` if given. Logs the flattened ``config`` as params and
    tags ``vipml.command`` plus the vipml and library versions.

    Parameters
    ----------
    experiment
        The experiment name (:func:`~vipml.tracking.resolve_experiment`).
    run_name
        The run's name.
    config
        A :class:`~vipml.config.Config` logged as params and ``config.yaml``; None for none.
    command
        The vipml command, tagged ``vipml.command``.
    tags
        More run tags.
    tracking_uri
        The tracking store (default: :func:`~vipml.tracking.resolve_tracking_uri`).
    artifact_location
        Where a new experiment keeps its artifacts.

    Yields
    ------
    TrackedRun
        The open run.

    Raises
    ------
    TrackingError
        When the run cannot be started or ended; errors of the block itself pass through.

    Examples
    --------
    A store that cannot be used fails before anything runs:

    >>> with tracked_run("doc", tracking_uri="sqlite:////no/such/dir/mlflow.db") as run:
    ...     pass  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    vipml.errors.TrackingError: MLflow tracking store sqlite:////no/such/dir/mlflow.db cannot ...

    A run in a fresh SQLite store (not run here: creating the store takes seconds):

    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> with tracked_run("doc", tracking_uri=f"sqlite:///{folder}/mlflow.db",
    ...                  artifact_location=f"{folder}/artifacts") as run:  # doctest: +SKIP
    ...     _ = run.log_metrics({"auc": 0.8})
    """
    uri = check_tracking_reachable(tracking_uri)
    with tracking_uri_set(uri):
        client = MlflowClient(tracking_uri=uri)
        name = resolve_experiment(experiment, config)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if MLFLOW_RUN_ID.get():
                    active = mlflow.start_run(run_name=run_name)
                    name = client.get_experiment(active.info.experiment_id).name
                else:
                    exp_id = experiment_id(client, name, experiment, artifact_location)
                    active = mlflow.start_run(
                        experiment_id=exp_id,
                        run_name=run_name,
                        nested=mlflow.active_run() is not None,
                    )
        except VipmlError:
            raise
        except Exception as exc:
            raise TrackingError(
                f"could not start an MLflow run in experiment {name!r} at {uri}: "
                f"{short_message(exc)}. Fix MLFLOW_TRACKING_URI, {NO_TRACKING_HINT}."
            ) from exc
        run = TrackedRun(client, active, uri, name)
        status = "FAILED"
        try:
            run.set_tags(
                {f"versions.{k}": v for k, v in library_versions().items()}
                | ({"vipml.command": command} if command else {})
                | dict(tags or {})
            )
            if config is not None:
                run.log_config(config)
            yield run
            status = "FINISHED"
        except KeyboardInterrupt:
            status = "KILLED"
            raise
        finally:
            _end_run(run, status)


def _end_run(run: TrackedRun, status: str) -> None:
    try:
        active = mlflow.active_run()
        if active is not None and active.info.run_id == run.run_id:
            mlflow.end_run(status)
        else:
            run.client.set_terminated(run.run_id, status)
    except Exception as exc:
        if status == "FINISHED":
            raise run._error("ending the run", exc) from exc
        logger.warning(
            "could not mark MLflow run %s %s: %s", run.run_id, status, short_message(exc)
        )


def _read_manifest(bundle_dir: Path | None) -> dict[str, Any]:
    if bundle_dir is None:
        return {}
    path = Path(bundle_dir) / "manifest.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _find_fingerprint(model: Any, manifest: Mapping[str, Any]) -> str | None:
    for source in (model, getattr(model, "manifest", None), manifest):
        if source is None:
            continue
        for key in ("data_fingerprint", "fingerprint", "training_fingerprint"):
            value = source.get(key) if isinstance(source, Mapping) else getattr(source, key, None)
            if isinstance(value, Mapping):
                value = value.get("transactions") or next(iter(value.values()), None)
            if value:
                return str(value)
    return None
