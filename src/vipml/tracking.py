"""MLflow tracking, model registry and batch serving: the only vipml module that imports mlflow.

Where runs go
-------------
:func:`resolve_tracking_uri` follows MLflow's own rules: an explicit URI, else the
``MLFLOW_TRACKING_URI`` environment variable, else MLflow's default, a SQLite file ``mlflow.db``
in the working directory (artifacts in ``./mlruns``; ``mlflow ui`` in that directory shows them).
:func:`check_tracking_reachable` answers within seconds, before any heavy work, with a
:class:`~vipml.errors.TrackingError` that names the URI and the way out (``--no-tracking``).

What a run holds
----------------
:func:`tracked_run` opens a run (or joins the one ``mlflow run`` started) and yields a
:class:`TrackedRun`; its ``log_*`` methods record params (the flattened config, cutoff, horizon,
data fingerprint, row and customer counts), metrics (backtest metrics of the models and the
baselines, BTYD parameters and log-likelihood), artifacts (plots, feature list, config,
manifest) and tags (vipml and library versions): :meth:`TrackedRun.log_training` does it for a
trained model, :meth:`TrackedRun.log_backtest` for a backtest. Any failure of MLflow itself
becomes a ``TrackingError`` that says where the trained bundle was saved, so nothing trained is
lost (``vipml register`` logs a saved bundle later).

The model in MLflow
-------------------
:meth:`TrackedRun.log_model_bundle` logs a saved bundle as an MLflow *pyfunc* model built "from
code": the model's code is a two-line file that instantiates :class:`VipmlPyfunc`, and its one
artifact is the bundle folder (manifest, JSON parameters, LightGBM text). Nothing is pickled.
The version is registered (default name ``vipml``) and gets the alias ``challenger``;
:func:`promote` moves ``champion`` to it when its logged metric beats the champion's.

The pyfunc input is a DataFrame of transactions in the vipml contract (``customer_id``,
``timestamp`` as datetime, ``revenue``, and any optional columns such as ``cost``,
``list_price``, ``quantity``, ``category``, ``is_return``, ``order_id``); ``predict`` returns
the scores table, one row per customer seen up to the cutoff. The cutoff is the last timestamp
in the input unless the ``cutoff`` param says otherwise::

    model = mlflow.pyfunc.load_model("models:/vipml@champion")
    scores = model.predict(transactions, params={"cutoff": "1997-12-31"})

A batch job that prefers the vipml API resolves the same URI to a local bundle folder with
:func:`resolve_model_uri` (what ``vipml score --model models:/vipml@champion`` does).

Examples
--------
>>> is_model_uri("models:/vipml@champion"), is_model_uri("models/vipml-1997-12-31")
(True, False)
>>> resolve_tracking_uri("sqlite:////tmp/x/mlflow.db")
'sqlite:////tmp/x/mlflow.db'
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.metadata
import json
import logging
import math
import os
import warnings
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlparse

import mlflow
import pandas as pd
import yaml
from mlflow.environment_variables import MLFLOW_EXPERIMENT_ID, MLFLOW_EXPERIMENT_NAME, MLFLOW_RUN_ID
from mlflow.exceptions import MlflowException
from mlflow.pyfunc import PythonModel
from mlflow.tracking import MlflowClient

import vipml
from vipml.bundle import MODEL_URI_SCHEMES, data_fingerprint, is_model_uri
from vipml.bundle import library_versions as bundle_library_versions
from vipml.errors import ModelFormatError, TrackingError, VipmlError
from vipml.tempfiles import scratch, scratch_until_exit

__all__ = [
    "DEFAULT_EXPERIMENT",
    "DEFAULT_MODEL_NAME",
    "CHALLENGER",
    "CHAMPION",
    "MODEL_URI_SCHEMES",
    "NO_TRACKING_HINT",
    "TrackedRun",
    "LoggedVersion",
    "Comparison",
    "VipmlPyfunc",
    "resolve_tracking_uri",
    "resolve_experiment",
    "check_tracking_reachable",
    "tracked_run",
    "data_fingerprint",
    "flatten_metrics",
    "library_versions",
    "promote",
    "is_model_uri",
    "resolve_model_uri",
    "metric_direction",
]

logger = logging.getLogger(__name__)

DEFAULT_EXPERIMENT = "vipml"
DEFAULT_MODEL_NAME = "vipml"
CHALLENGER = "challenger"
CHAMPION = "champion"
MODEL_ARTIFACT = "model"
"""Name under which the pyfunc model is logged in a run."""
BUNDLE_KEY = "bundle"
"""Key of the bundle folder among the pyfunc model's artifacts (``artifacts/bundle``)."""
NO_TRACKING_HINT = "or pass --no-tracking to train and save the bundle locally without MLflow"
_MAX_PARAM_LENGTH = 6000
#: Libraries whose versions tag a run besides a bundle's (:func:`library_versions`).
_RUN_LIBRARIES = ("mlflow", "pyarrow", "matplotlib")
_LOWER_IS_BETTER = ("brier", "loss", "error", "rmse", "mae", "mape", "deviance")
_MODEL_CODE = '''"""vipml pyfunc model (MLflow models from code): artifacts/bundle is the model."""
import mlflow

from vipml.tracking import VipmlPyfunc

mlflow.models.set_model(VipmlPyfunc())
'''


# ----------------------------------------------------------------------------- where runs go


def resolve_tracking_uri(uri: str | None = None) -> str:
    """The tracking URI to use: ``uri``, else ``MLFLOW_TRACKING_URI``, else MLflow's default.

    MLflow's default is ``sqlite:///<working directory>/mlflow.db`` (or ``./mlruns`` where an old
    file store already exists there).

    Examples
    --------
    >>> resolve_tracking_uri("http://127.0.0.1:5000")
    'http://127.0.0.1:5000'
    """
    if uri:
        return str(uri)
    return mlflow.get_tracking_uri()


def resolve_experiment(name: str | None = None, config: Any = None) -> str:
    """The experiment: ``name``, else ``MLFLOW_EXPERIMENT_NAME``, else the config's, else vipml.

    Examples
    --------
    >>> resolve_experiment("churn-tests")
    'churn-tests'
    """
    if name:
        return name
    if env := MLFLOW_EXPERIMENT_NAME.get():
        return env
    tracking = getattr(config, "tracking", None)
    return getattr(tracking, "experiment", None) or DEFAULT_EXPERIMENT


def _local_store_path(uri: str) -> Path | None:
    """The file behind a ``sqlite:///`` or ``file:`` URI (or a bare path); None for servers."""
    if uri.startswith("sqlite:///"):
        return Path(unquote(uri[len("sqlite:///") :]))
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        return Path(unquote(parsed.path))
    if parsed.scheme == "" or (len(parsed.scheme) == 1 and uri[1:3] in (":\\", ":/")):
        return Path(uri)
    return None


def check_tracking_reachable(uri: str | None = None, timeout: float = 5.0) -> str:
    """Fail fast, with the URI and the way out, when runs cannot be logged to ``uri``.

    A server (``http://``, ``https://``) must answer one REST call within ``timeout`` seconds,
    without retries, and accept the credentials MLflow would send (``MLFLOW_TRACKING_TOKEN`` or
    ``MLFLOW_TRACKING_USERNAME`` / ``PASSWORD``). A local store (``sqlite:///``, ``file:``) must
    live in a directory that exists and is writable. Other stores (databases, Databricks) are
    not probed. Returns the resolved URI.

    Raises
    ------
    TrackingError
        Naming the URI, what went wrong and ``--no-tracking``.

    Examples
    --------
    >>> check_tracking_reachable("sqlite:////no/such/dir/mlflow.db")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    vipml.errors.TrackingError: MLflow tracking store sqlite:////no/such/dir/mlflow.db cannot ...
    """
    uri = resolve_tracking_uri(uri)
    scheme = urlparse(uri).scheme
    if scheme in ("http", "https"):
        _probe_server(uri, timeout)
        return uri
    path = _local_store_path(uri)
    if path is not None:
        folder = path if scheme == "file" else path.parent
        folder = folder.absolute()
        existing = folder
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        reason = None
        if scheme != "file" and not folder.is_dir():
            reason = f"the directory {folder} does not exist"
        elif not os.access(existing, os.W_OK):
            reason = f"{existing} is not writable"
        if reason:
            raise TrackingError(
                f"MLflow tracking store {uri} cannot be used: {reason}. Create it, set "
                f"MLFLOW_TRACKING_URI to a usable store, {NO_TRACKING_HINT}."
            )
    return uri


def _probe_server(uri: str, timeout: float) -> None:
    from mlflow.utils.credentials import get_default_host_creds
    from mlflow.utils.rest_utils import http_request

    try:
        response = http_request(
            get_default_host_creds(uri),
            "/api/2.0/mlflow/experiments/search",
            "GET",
            max_retries=0,
            timeout=timeout,
            raise_on_status=False,
            params={"max_results": 1},
        )
    except Exception as exc:  # connection refused, DNS, timeout, TLS
        reason = _connection_reason(exc, timeout)
        raise TrackingError(
            f"MLflow tracking server {uri} cannot be reached ({reason}). "
            f"Start the server or fix MLFLOW_TRACKING_URI, {NO_TRACKING_HINT}."
        ) from None
    if response.status_code in (401, 403):
        raise TrackingError(
            f"MLflow tracking server {uri} refused the credentials (HTTP {response.status_code}): "
            f"set MLFLOW_TRACKING_TOKEN or MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD, "
            f"{NO_TRACKING_HINT}."
        )
    if response.status_code >= 500 or response.status_code == 404:
        raise TrackingError(
            f"MLflow tracking server {uri} answered HTTP {response.status_code} to "
            f"/api/2.0/mlflow/experiments/search: is it an MLflow server? Fix MLFLOW_TRACKING_URI, "
            f"{NO_TRACKING_HINT}."
        )


def _connection_reason(exc: BaseException, timeout: float) -> str:
    """Name the root cause of a failed request in a few words."""
    import socket

    chain = []
    while exc is not None and len(chain) < 20:
        chain.append(exc)
        exc = exc.__cause__ or exc.__context__
    names = " ".join(type(e).__name__ for e in chain)
    if any(isinstance(e, ConnectionRefusedError) for e in chain):
        return "connection refused: nothing listens there"
    if any(isinstance(e, socket.gaierror) for e in chain) or "NameResolution" in names:
        return "unknown host"
    if "Timeout" in names or any(isinstance(e, TimeoutError) for e in chain):
        return f"no answer within {timeout:g} s"
    if "SSL" in names:
        return f"TLS error: {_short(chain[-1])}"
    return _short(chain[-1])


def _short(exc: BaseException, limit: int = 300) -> str:
    """A one-line description of an exception (MLflow's messages can be pages long)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, MlflowException):
        text = exc.message if isinstance(exc.message, str) else text
        text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


@contextlib.contextmanager
def _global_tracking_uri(uri: str) -> Iterator[None]:
    """Point MLflow's fluent API at ``uri`` for the block, then restore what was there.

    MLflow keeps a global URI (``mlflow.set_tracking_uri``, which also sets the environment
    variable) that overrides ``MLFLOW_TRACKING_URI``: both are put back as they were, so a URI
    given here never outlives the block.
    """
    from mlflow.tracking._tracking_service import utils as service

    previous = getattr(service, "_tracking_uri", None)
    env = os.environ.get("MLFLOW_TRACKING_URI")
    mlflow.set_tracking_uri(uri)
    try:
        yield
    finally:
        mlflow.set_tracking_uri(previous)
        if env is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = env


# ----------------------------------------------------------------------------- small helpers


def library_versions() -> dict[str, str]:
    """Versions of vipml, Python, MLflow and the libraries its models depend on (run tags;
    :func:`vipml.bundle.library_versions` with MLflow).

    Examples
    --------
    >>> versions = library_versions()
    >>> versions["vipml"] == vipml.__version__ and "mlflow" in versions
    True
    """
    return bundle_library_versions(_RUN_LIBRARIES)


def _flat_params(data: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    """Nested mappings flattened to ``prefix.key.subkey`` (lists stay whole)."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}.{key}"
        if isinstance(value, Mapping):
            out.update(_flat_params(value, name))
        else:
            out[name] = value
    return out


def flatten_metrics(metrics: Any, prefix: str = "", sep: str = "_") -> dict[str, float]:
    """Flatten nested metrics (mappings, pandas objects) into ``{name: finite float}``.

    Keys are joined with ``sep``; ``None``, text and non-finite values are left out (MLflow
    would show NaN as a value, which reads like a measurement).

    Examples
    --------
    >>> flatten_metrics({"future_vip": {"lightgbm": {"roc_auc": 0.81}, "n": 3}, "x": None})
    {'future_vip_lightgbm_roc_auc': 0.81, 'future_vip_n': 3.0}
    """
    out: dict[str, float] = {}

    def walk(name: str, value: Any) -> None:
        if isinstance(value, pd.DataFrame):
            value = {str(k): v for k, v in value.to_dict(orient="index").items()}
        elif isinstance(value, pd.Series):
            value = value.to_dict()
        if isinstance(value, Mapping):
            for key, item in value.items():
                walk(f"{name}{sep}{key}" if name else str(key), item)
            return
        if isinstance(value, bool) or value is None:
            return
        try:
            number = float(value)
        except (TypeError, ValueError):
            return
        if math.isfinite(number):
            out[_metric_key(name)] = number

    walk(prefix, metrics)
    return out


def _metric_key(name: str) -> str:
    """MLflow keys allow letters, digits, ``_ - . / :`` and spaces; replace anything else."""
    return "".join(c if c.isalnum() or c in "_-./: " else "_" for c in name)


def _param_value(value: Any) -> str:
    if isinstance(value, pd.Timestamp):
        text = value.isoformat() if value != value.normalize() else f"{value:%Y-%m-%d}"
    elif isinstance(value, list | tuple | dict):
        text = json.dumps(value, default=str)
    else:
        text = str(value)
    return text if len(text) <= _MAX_PARAM_LENGTH else text[: _MAX_PARAM_LENGTH - 3] + "..."


def metric_direction(metric: str) -> Literal["max", "min"]:
    """Whether a larger value of ``metric`` is better (``max``) or a smaller one (``min``).

    Errors, losses and Brier scores are minimised; everything else (AUC, average precision,
    lift, precision) is maximised.

    Examples
    --------
    >>> metric_direction("future_vip_average_precision"), metric_direction("churn_brier")
    ('max', 'min')
    """
    name = metric.lower()
    return "min" if any(word in name for word in _LOWER_IS_BETTER) else "max"


# ----------------------------------------------------------------------------- runs


@dataclasses.dataclass(frozen=True)
class LoggedVersion:
    """A model logged in a run and, when registered, its registry version."""

    model_uri: str
    """``models:/m-<id>``: the logged model itself."""
    run_id: str
    name: str | None = None
    """Registered model name (None when not registered)."""
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
            f"{_short(exc)}.{saved} Rerun with --no-tracking to skip MLflow."
        )

    # -- params, tags, metrics --------------------------------------------------------------

    def log_params(self, params: Mapping[str, Any]) -> dict[str, str]:
        """Log params (values become text; lists and dicts as JSON); return what was logged.

        A key logged before with the same value is skipped (MLflow params are immutable).
        """
        new = {str(k): _param_value(v) for k, v in params.items()}
        new = {k: v for k, v in new.items() if self._params.get(k) != v}
        if not new:
            return {}
        from mlflow.entities import Param

        with self._guard("logging params"):
            items = [Param(k, v) for k, v in new.items()]
            for start in range(0, len(items), 100):
                self.client.log_batch(self.run_id, params=items[start : start + 100])
        self._params.update(new)
        return new

    def log_config(self, config: Any) -> dict[str, str]:
        """Log the flattened config as params and the whole config as ``config.yaml``."""
        from vipml.config import config_to_dict, flatten_config

        logged = self.log_params(flatten_config(config))
        with self._guard("logging config.yaml"):
            self.client.log_text(
                self.run_id, yaml.safe_dump(config_to_dict(config), sort_keys=False), "config.yaml"
            )
        return logged

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        """Set run tags (values become text)."""
        from mlflow.entities import RunTag

        with self._guard("setting tags"):
            self.client.log_batch(
                self.run_id, tags=[RunTag(str(k), _param_value(v)) for k, v in tags.items()]
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
        import time

        from mlflow.entities import Metric

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
                dataset = mlflow.data.from_pandas(tx, name=name, digest=params["data.fingerprint"])
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
        params.update(_flat_params(getattr(model, "training", None) or {}, "training"))
        self.log_params(params)
        if transactions is not None:
            seen = transactions
            if cutoff is not None and "timestamp" in transactions:
                end = cutoff.normalize() + pd.Timedelta(days=1)
                seen = transactions.loc[pd.to_datetime(transactions["timestamp"]) < end]
            fingerprint = _find_fingerprint(model, manifest)
            self.log_data(seen, cutoff=cutoff, horizon=horizon, fingerprint=fingerprint)
        metrics = dict(self.log_metrics(getattr(model, "metrics", None) or manifest.get("metrics")))
        metrics.update(self.log_metrics(_btyd_metrics(getattr(model, "btyd", None)), "btyd"))
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
            params.update(_flat_params(getattr(model, "training", None) or {}, "training"))
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
            metrics.update(self.log_metrics(_btyd_metrics(model.btyd), "btyd"))
        self.set_tags(
            {f"vipml.beats_baselines.{k}": v for k, v in result.beats_baselines().items()}
        )
        self.log_text(result.to_json(), "backtest.json")
        if figures is None:
            from vipml.plots.classifier import calibration_curve, lift_chart

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
        """Log a saved bundle as a pyfunc model, register it and give the version ``alias``.

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
        example = _example_transactions(input_example, max_example_customers)
        with self._guard("computing the model signature"):
            signature = _signature(bundle_dir, example)
        manifest = _read_manifest(bundle_dir)
        metadata = {
            "vipml_version": vipml.__version__,
            "cutoff": str(manifest.get("cutoff", "")),
            "horizon": str(manifest.get("horizon", "")),
            "input": "transactions: customer_id, timestamp, revenue (+ optional columns)",
            "params": "cutoff (YYYY-MM-DD; default: the last timestamp in the input)",
        }
        with scratch("pyfunc") as tmp:
            code = Path(tmp) / "vipml_model.py"
            code.write_text(_MODEL_CODE)
            with self._guard("logging the pyfunc model"), _global_tracking_uri(self.tracking_uri):
                active = mlflow.active_run()
                if active is None or active.info.run_id != self.run_id:
                    raise TrackingError(
                        f"run {self.run_id} is not the active MLflow run: log the model inside "
                        f"its `with tracked_run(...)` block"
                    )
                info = mlflow.pyfunc.log_model(
                    name=MODEL_ARTIFACT,
                    python_model=str(code),
                    artifacts={BUNDLE_KEY: str(bundle_dir)},
                    signature=signature,
                    input_example=example,
                    pip_requirements=_requirements(),
                    metadata=metadata,
                    registered_model_name=registered_model,
                )
        if not registered_model:
            return LoggedVersion(info.model_uri, self.run_id)
        version = str(info.registered_model_version)
        with self._guard(f"tagging version {version} of {registered_model}"):
            for key, value in {
                "vipml_version": vipml.__version__,
                "cutoff": manifest.get("cutoff", ""),
                "horizon": manifest.get("horizon", ""),
                "data_fingerprint": _find_fingerprint(None, manifest) or "",
            }.items():
                self.client.set_model_version_tag(registered_model, version, key, str(value))
            if alias:
                self.client.set_registered_model_alias(registered_model, alias, version)
        self.set_tags({"vipml.registered_model": f"{registered_model}/{version}"})
        return LoggedVersion(info.model_uri, self.run_id, registered_model, version, alias)


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

    Raises
    ------
    TrackingError
        When the run cannot be started or ended; errors of the block itself pass through.

    Examples
    --------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> with tracked_run("doc", tracking_uri=f"sqlite:///{folder}/mlflow.db",
    ...                  artifact_location=f"{folder}/artifacts") as run:  # doctest: +SKIP
    ...     _ = run.log_metrics({"auc": 0.8})
    """
    uri = check_tracking_reachable(tracking_uri)
    with _global_tracking_uri(uri):
        client = MlflowClient(tracking_uri=uri)
        name = resolve_experiment(experiment, config)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if MLFLOW_RUN_ID.get():
                    active = mlflow.start_run(run_name=run_name)
                    name = client.get_experiment(active.info.experiment_id).name
                else:
                    experiment_id = _experiment_id(client, name, experiment, artifact_location)
                    active = mlflow.start_run(
                        experiment_id=experiment_id,
                        run_name=run_name,
                        nested=mlflow.active_run() is not None,
                    )
        except VipmlError:
            raise
        except Exception as exc:
            raise TrackingError(
                f"could not start an MLflow run in experiment {name!r} at {uri}: {_short(exc)}. "
                f"Fix MLFLOW_TRACKING_URI, {NO_TRACKING_HINT}."
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


def _experiment_id(
    client: MlflowClient,
    name: str,
    explicit: str | None,
    artifact_location: str | os.PathLike[str] | None,
) -> str:
    env_id = MLFLOW_EXPERIMENT_ID.get()
    if env_id and not explicit and not MLFLOW_EXPERIMENT_NAME.get():
        return env_id
    found = client.get_experiment_by_name(name)
    if found is None:
        location = None if artifact_location is None else _artifact_location(artifact_location)
        try:
            return client.create_experiment(name, artifact_location=location)
        except MlflowException:  # created meanwhile by another process
            found = client.get_experiment_by_name(name)
            if found is None:
                raise
    if found.lifecycle_stage == "deleted":
        raise TrackingError(
            f"MLflow experiment {name!r} is deleted: restore it with `mlflow experiments restore "
            f"--experiment-id {found.experiment_id}` or choose another --experiment"
        )
    return found.experiment_id


def _artifact_location(location: str | os.PathLike[str]) -> str:
    text = str(location)
    if "://" in text or text.startswith(("file:", "mlflow-artifacts:")):
        return text
    return Path(text).absolute().as_uri()


def _end_run(run: TrackedRun, status: str) -> None:
    try:
        if mlflow.active_run() is not None and mlflow.active_run().info.run_id == run.run_id:
            mlflow.end_run(status)
        else:
            run.client.set_terminated(run.run_id, status)
    except Exception as exc:
        if status == "FINISHED":
            raise run._error("ending the run", exc) from exc
        logger.warning("could not mark MLflow run %s %s: %s", run.run_id, status, _short(exc))


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


def _btyd_metrics(btyd: Any) -> dict[str, float]:
    """BTYD parameters, log-likelihoods and penalizers of a fitted CLV model, as metrics.

    Reads a :class:`~vipml.modeling.btyd.LifetimeValueModel` (its ``purchase_model_`` and
    ``gamma_gamma_``), a single fitted model (``params_``, ``log_likelihood_``) or a mapping:
    ``r``, ``alpha``, ``a``, ``b``, ``log_likelihood``, ``gamma_gamma_p``, ... .
    """
    if btyd is None:
        return {}
    if isinstance(btyd, Mapping):
        return flatten_metrics(btyd)
    out: dict[str, float] = {}
    parts = [
        ("", btyd),
        ("", getattr(btyd, "purchase_model_", None)),
        ("gamma_gamma_", getattr(btyd, "gamma_gamma_", None)),
    ]
    for label, part in parts:
        if part is None:
            continue
        params = getattr(part, "params_", None)
        if isinstance(params, Mapping | pd.Series):
            out.update(flatten_metrics(dict(params), label.rstrip("_")))
        for attr in ("log_likelihood_", "penalizer_"):
            value = getattr(part, attr, None)
            if isinstance(value, int | float) and not isinstance(value, bool):
                out.update(flatten_metrics({label + attr.rstrip("_"): value}))
    return out


# ----------------------------------------------------------------------------- the pyfunc model


class VipmlPyfunc(PythonModel):
    """The MLflow pyfunc face of a vipml bundle: transactions in, the scores table out.

    ``load_context`` loads the bundle from the model's ``bundle`` artifact with
    :func:`vipml.bundle.load_model`; ``predict`` scores every customer in the input with
    :func:`vipml.pipeline.score` at the ``cutoff`` param (default: the last timestamp in the
    input).
    """

    def __init__(self, bundle_dir: str | os.PathLike[str] | None = None):
        self.bundle_dir = bundle_dir
        self.model: Any = None
        if bundle_dir is not None:
            self._load(bundle_dir)

    def _load(self, bundle_dir: str | os.PathLike[str]) -> None:
        from vipml.bundle import load_model

        self.model = load_model(bundle_dir)

    def load_context(self, context: Any) -> None:
        """Load the bundle stored among the model's artifacts."""
        self._load(context.artifacts[BUNDLE_KEY])

    def predict(
        self, context, model_input: pd.DataFrame, params: dict[str, str] | None = None
    ) -> pd.DataFrame:
        """Score the customers in ``model_input`` (transactions); see the module docs."""
        from vipml.pipeline import score

        if self.model is None:
            raise ModelFormatError("the vipml pyfunc model has no bundle loaded")
        transactions = pd.DataFrame(model_input)
        value = (params or {}).get("cutoff") or None
        if value is None:
            if "timestamp" not in transactions or not len(transactions):
                raise VipmlError(
                    "the input has no timestamp to take the cutoff from: pass transactions with "
                    "a timestamp column, or params={'cutoff': 'YYYY-MM-DD'}"
                )
            cutoff = pd.Timestamp(pd.to_datetime(transactions["timestamp"]).max())
        else:
            try:
                cutoff = pd.Timestamp(value)
            except (TypeError, ValueError):
                raise VipmlError(
                    f"cutoff param {value!r} is not a date: use YYYY-MM-DD, e.g. 1997-12-31"
                ) from None
        return score(self.model, transactions, cutoff=cutoff)


def _example_transactions(transactions: pd.DataFrame, max_customers: int) -> pd.DataFrame:
    """All rows of the first ``max_customers`` customers (by first appearance)."""
    if not isinstance(transactions, pd.DataFrame) or "customer_id" not in transactions:
        raise VipmlError(
            "input_example must be a transactions DataFrame with a customer_id column "
            "(e.g. the training data)"
        )
    first = pd.unique(transactions["customer_id"])[:max_customers]
    example = transactions[transactions["customer_id"].isin(first)].reset_index(drop=True)
    return example


def _signature(bundle_dir: Path, example: pd.DataFrame) -> Any:
    """Input schema from the example (optional columns marked optional), output from scoring it."""
    from mlflow.models import ModelSignature, infer_signature
    from mlflow.types.schema import ColSpec, Schema

    from vipml.data.schema import TRANSACTION_REQUIRED

    output = VipmlPyfunc(bundle_dir).predict(None, example)
    inferred = infer_signature(example, output, params={"cutoff": ""})
    inputs = Schema(
        [
            ColSpec(col.type, col.name, required=col.name in TRANSACTION_REQUIRED)
            for col in inferred.inputs.inputs
        ]
    )
    return ModelSignature(inputs=inputs, outputs=inferred.outputs, params=inferred.params)


def _requirements() -> list[str]:
    """vipml and its runtime dependencies, pinned to the installed versions.

    Given explicitly: MLflow's own inference would load the model in a subprocess.
    """
    import re

    names = ["vipml"]
    for requirement in importlib.metadata.requires("vipml") or []:
        if "extra ==" in requirement:
            continue
        names.append(re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0])
    out = []
    for name in dict.fromkeys(names):
        try:
            out.append(f"{name}=={importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            out.append(name)
    return out


# ----------------------------------------------------------------------------- the registry


@dataclasses.dataclass(frozen=True)
class Comparison:
    """Challenger against champion on one metric, and what :func:`promote` did about it."""

    name: str
    metric: str
    direction: Literal["max", "min"]
    challenger_version: str
    challenger_value: float | None
    champion_version: str | None
    champion_value: float | None
    promoted: bool
    reason: str

    def lines(self) -> list[str]:
        """Both sides of the comparison and the outcome, as text lines."""

        def side(label: str, version: str | None, value: float | None) -> str:
            shown = "—" if value is None else f"{value:.6g}"
            where = f"version {version}" if version else "(none)"
            return f"  {label:<11} {where:<12} {self.metric} = {shown}"

        better = "higher" if self.direction == "max" else "lower"
        return [
            f"{self.name}: {self.metric} ({better} is better)",
            side(CHAMPION, self.champion_version, self.champion_value),
            side(CHALLENGER, self.challenger_version, self.challenger_value),
            f"  -> {self.reason}",
        ]


def promote(
    name: str = DEFAULT_MODEL_NAME,
    metric: str = "future_vip_average_precision",
    force: bool = False,
    *,
    direction: Literal["auto", "max", "min"] = "auto",
    tracking_uri: str | None = None,
) -> Comparison:
    """Move the ``champion`` alias to the ``challenger`` version when its metric is better.

    The metric is read from the runs that logged each version. Without a champion, the
    challenger becomes champion. ``force`` promotes whatever the comparison says; a champion
    without the metric is only replaced with ``force``.

    Raises
    ------
    TrackingError
        When the model or its challenger is missing, or the challenger lacks the metric.
    """
    uri = check_tracking_reachable(tracking_uri)
    client = MlflowClient(tracking_uri=uri)
    sense: Literal["max", "min"] = metric_direction(metric) if direction == "auto" else direction
    try:
        challenger = _version_by_alias(client, uri, name, CHALLENGER)
        if challenger is None:
            raise TrackingError(
                f"registered model {name!r} at {uri} has no version with the alias "
                f"{CHALLENGER!r}: train with tracking on (`vipml train ...`) to register one"
            )
        champion = _version_by_alias(client, uri, name, CHAMPION)
        challenger_metrics = _run_metrics(client, challenger.run_id)
        if metric not in challenger_metrics:
            known = ", ".join(sorted(challenger_metrics)) or "none"
            raise TrackingError(
                f"the {CHALLENGER} (version {challenger.version} of {name!r}) has no metric "
                f"{metric!r}; its metrics: {known}. Pick one with --metric"
            )
        new = challenger_metrics[metric]
        old = None if champion is None else _run_metrics(client, champion.run_id).get(metric)
        if champion is not None and champion.version == challenger.version:
            promoted, reason = False, f"version {challenger.version} is already the {CHAMPION}"
        elif champion is None:
            promoted, reason = True, f"no {CHAMPION} yet: version {challenger.version} becomes it"
        elif old is None:
            promoted = force
            reason = (
                f"the {CHAMPION} has no {metric}: forced"
                if force
                else f"the {CHAMPION} (version {champion.version}) has no {metric} to compare: "
                f"kept; use --force to promote anyway"
            )
        else:
            wins = new > old if sense == "max" else new < old
            promoted = wins or force
            if wins:
                reason = f"the {CHALLENGER} is better: version {challenger.version} promoted"
            elif force:
                reason = f"the {CHALLENGER} is not better, promoted anyway (--force)"
            else:
                reason = (
                    f"the {CHALLENGER} is not better: {CHAMPION} stays version "
                    f"{champion.version} (use --force to promote anyway)"
                )
        if promoted:
            client.set_registered_model_alias(name, CHAMPION, challenger.version)
            if champion is not None and champion.version != challenger.version:
                client.set_registered_model_alias(name, "previous_champion", champion.version)
    except VipmlError:
        raise
    except Exception as exc:
        raise TrackingError(f"promoting {name!r} at {uri} failed: {_short(exc)}") from exc
    return Comparison(
        name=name,
        metric=metric,
        direction=sense,
        challenger_version=str(challenger.version),
        challenger_value=new,
        champion_version=None if champion is None else str(champion.version),
        champion_value=old,
        promoted=promoted,
        reason=reason,
    )


def _version_by_alias(client: MlflowClient, uri: str, name: str, alias: str) -> Any:
    try:
        return client.get_model_version_by_alias(name, alias)
    except MlflowException as exc:
        code = getattr(exc, "error_code", "")
        if code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE", "NOT_FOUND"):
            try:
                client.get_registered_model(name)
            except MlflowException:
                raise TrackingError(
                    f"no registered model {name!r} at {uri}: train with "
                    f"tracking on to register one, or check --model-name and "
                    f"MLFLOW_TRACKING_URI"
                ) from None
            return None
        raise


def _run_metrics(client: MlflowClient, run_id: str | None) -> dict[str, float]:
    if not run_id:
        return {}
    return dict(client.get_run(run_id).data.metrics)


def resolve_model_uri(
    model: str | os.PathLike[str],
    dst: str | os.PathLike[str] | None = None,
    *,
    tracking_uri: str | None = None,
) -> Path:
    """A local bundle folder for ``model``: a path as it is, an MLflow model URI downloaded.

    ``models:/vipml@champion``, ``models:/vipml/3``, ``runs:/<run id>/model`` or
    ``models:/m-<id>`` are downloaded into ``dst`` (default: a fresh temporary folder, removed
    when the process exits) and the bundle folder inside the MLflow model is returned.

    Raises
    ------
    TrackingError
        When the URI cannot be resolved (unknown model, version or alias; unreachable server).
    ModelFormatError
        When the MLflow model is not a vipml pyfunc model.

    Examples
    --------
    >>> resolve_model_uri("models/vipml-1997-12-31")
    PosixPath('models/vipml-1997-12-31')
    """
    if not is_model_uri(model):
        return Path(model)
    uri = str(model)
    store = check_tracking_reachable(tracking_uri)
    if dst is None:
        dst = str(scratch_until_exit("model"))
    try:
        # MLflow resolves models:/ URIs with the global registry URI, whatever is passed.
        with warnings.catch_warnings(), _global_tracking_uri(store):
            warnings.simplefilter("ignore")
            local = Path(
                mlflow.artifacts.download_artifacts(
                    artifact_uri=uri, dst_path=str(dst), tracking_uri=store
                )
            )
    except Exception as exc:
        hint = (
            f" (set one with `vipml promote`, or use models:/NAME@{CHALLENGER})"
            if "@" in uri
            else ""
        )
        raise TrackingError(
            f"cannot load {uri} from {store}: {_short(exc)}{hint}. Check the name, version or "
            f"alias and MLFLOW_TRACKING_URI"
        ) from None
    return _bundle_in_mlflow_model(local, uri)


def _bundle_in_mlflow_model(local: Path, uri: str) -> Path:
    mlmodel = local / "MLmodel"
    if not mlmodel.exists():
        candidates = list(local.glob("*/MLmodel"))
        if len(candidates) == 1:
            local, mlmodel = candidates[0].parent, candidates[0]
    try:
        spec = yaml.safe_load(mlmodel.read_text())
        relative = spec["flavors"]["python_function"]["artifacts"][BUNDLE_KEY]["path"]
    except (OSError, KeyError, TypeError, yaml.YAMLError):
        raise ModelFormatError(
            f"{uri} is not a vipml model (no python_function flavor with a {BUNDLE_KEY!r} "
            f"artifact in {mlmodel}): log models with vipml train"
        ) from None
    bundle = local / relative
    if not (bundle / "manifest.json").exists():
        raise ModelFormatError(f"{uri}: the bundle in {bundle} has no manifest.json")
    return bundle
