"""Where runs go: the tracking URI, the experiment, and a fast reachability probe.

:func:`resolve_tracking_uri` follows MLflow's own rules: an explicit URI, else the
``MLFLOW_TRACKING_URI`` environment variable, else MLflow's default, a SQLite file ``mlflow.db``
in the working directory (artifacts in ``./mlruns``; ``mlflow ui`` in that directory shows them).
:func:`check_tracking_reachable` answers within seconds, before any heavy work, with a
:class:`~vipml.errors.TrackingError` that names the URI and the way out (``--no-tracking``).

Examples
--------
>>> resolve_tracking_uri("sqlite:////tmp/x/mlflow.db")
'sqlite:////tmp/x/mlflow.db'
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast
from urllib.parse import unquote, urlparse

import mlflow
from mlflow.environment_variables import MLFLOW_EXPERIMENT_ID, MLFLOW_EXPERIMENT_NAME
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from mlflow.tracking._tracking_service import utils as tracking_service
from mlflow.utils.credentials import get_default_host_creds
from mlflow.utils.rest_utils import http_request

from vipml.errors import TrackingError

__all__ = [
    "DEFAULT_EXPERIMENT",
    "NO_TRACKING_HINT",
    "resolve_tracking_uri",
    "resolve_experiment",
    "check_tracking_reachable",
    "experiment_id",
    "tracking_uri_set",
    "short_message",
]

DEFAULT_EXPERIMENT = "vipml"
NO_TRACKING_HINT = "or pass --no-tracking to train and save the bundle locally without MLflow"


def resolve_tracking_uri(uri: str | None = None) -> str:
    """The tracking URI to use: ``uri``, else ``MLFLOW_TRACKING_URI``, else MLflow's default.

    MLflow's default is ``sqlite:///<working directory>/mlflow.db`` (or ``./mlruns`` where an old
    file store already exists there).

    Parameters
    ----------
    uri
        An explicit tracking URI; None or empty to take MLflow's.

    Returns
    -------
    str
        The tracking URI.

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

    Parameters
    ----------
    name
        An explicit experiment name.
    config
        A :class:`~vipml.config.Config` (its ``tracking.experiment``), or None.

    Returns
    -------
    str
        The experiment name.

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
    not probed.

    Parameters
    ----------
    uri
        The tracking URI (default: :func:`resolve_tracking_uri`).
    timeout
        Seconds a server has to answer.

    Returns
    -------
    str
        The resolved URI.

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
    chain: list[BaseException] = []
    cause: BaseException | None = exc
    while cause is not None and len(chain) < 20:
        chain.append(cause)
        cause = cause.__cause__ or cause.__context__
    names = " ".join(type(e).__name__ for e in chain)
    if any(isinstance(e, ConnectionRefusedError) for e in chain):
        return "connection refused: nothing listens there"
    if any(isinstance(e, socket.gaierror) for e in chain) or "NameResolution" in names:
        return "unknown host"
    if "Timeout" in names or any(isinstance(e, TimeoutError) for e in chain):
        return f"no answer within {timeout:g} s"
    if "SSL" in names:
        return f"TLS error: {short_message(chain[-1])}"
    return short_message(chain[-1])


def short_message(exc: BaseException, limit: int = 300) -> str:
    """A one-line description of an exception (MLflow's messages can be pages long).

    Parameters
    ----------
    exc
        The exception.
    limit
        Most characters kept; longer text ends with ``...``.

    Returns
    -------
    str
        The message on one line, or the exception's type name when it has none.

    Examples
    --------
    >>> short_message(ValueError("no\\n   such   model"))
    'no such model'
    >>> short_message(KeyError())
    'KeyError'
    """
    text = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, MlflowException):
        text = exc.message if isinstance(exc.message, str) else text
        text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


@contextlib.contextmanager
def tracking_uri_set(uri: str) -> Iterator[None]:
    """Point MLflow's fluent API at ``uri`` for the block, then restore what was there.

    MLflow keeps a global URI (``mlflow.set_tracking_uri``, which also sets the environment
    variable) that overrides ``MLFLOW_TRACKING_URI``: both are put back as they were, so a URI
    given here never outlives the block.

    Parameters
    ----------
    uri
        The tracking URI for the block.

    Yields
    ------
    None
        Inside the block, ``mlflow.get_tracking_uri()`` is ``uri``.

    Examples
    --------
    >>> before = mlflow.get_tracking_uri()
    >>> with tracking_uri_set("sqlite:////tmp/elsewhere/mlflow.db"):
    ...     mlflow.get_tracking_uri()
    'sqlite:////tmp/elsewhere/mlflow.db'
    >>> mlflow.get_tracking_uri() == before
    True
    """
    previous = getattr(tracking_service, "_tracking_uri", None)
    env = os.environ.get("MLFLOW_TRACKING_URI")
    mlflow.set_tracking_uri(uri)
    try:
        yield
    finally:
        # None (no URI was set) is accepted at run time: back to MLFLOW_TRACKING_URI or default
        mlflow.set_tracking_uri(cast(str, previous))
        if env is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = env


def experiment_id(
    client: MlflowClient,
    name: str,
    explicit: str | None,
    artifact_location: str | os.PathLike[str] | None,
) -> str:
    """The id of the experiment runs go to, creating the experiment when it is missing.

    ``MLFLOW_EXPERIMENT_ID`` wins unless an experiment was named (``explicit`` or
    ``MLFLOW_EXPERIMENT_NAME``).

    Parameters
    ----------
    client
        The MLflow client of the tracking store.
    name
        The experiment name (:func:`resolve_experiment`).
    explicit
        The name given by the caller, if any.
    artifact_location
        Where a new experiment keeps its artifacts (a path or URI); None for MLflow's default.

    Returns
    -------
    str
        The experiment id.

    Raises
    ------
    TrackingError
        When the experiment is deleted.

    Examples
    --------
    Inside ``mlflow run`` the experiment it chose is kept (no store is touched):

    >>> os.environ["MLFLOW_EXPERIMENT_ID"] = "7"
    >>> try:
    ...     experiment_id(None, "vipml", None, None)  # the client is not asked
    ... finally:
    ...     del os.environ["MLFLOW_EXPERIMENT_ID"]
    '7'
    """
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
