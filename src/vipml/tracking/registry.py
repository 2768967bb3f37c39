"""The model registry: the ``challenger`` and ``champion`` aliases, and model URIs to bundles.

A version logged by :meth:`~vipml.tracking.TrackedRun.log_model_bundle` is registered (default
name ``vipml``) with the alias ``challenger``; :func:`promote` moves ``champion`` to it when its
logged metric beats the champion's. A batch job that prefers the vipml API resolves
``models:/vipml@champion`` to a local bundle folder with :func:`resolve_model_uri` (what
``vipml score --model models:/vipml@champion`` does).

Examples
--------
>>> is_model_uri("models:/vipml@champion"), is_model_uri("models/vipml-1997-12-31")
(True, False)
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from pathlib import Path
from typing import Any, Literal

import mlflow
import yaml
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from vipml.bundle import is_model_uri
from vipml.errors import ModelFormatError, TrackingError, VipmlError
from vipml.tempfiles import scratch_until_exit
from vipml.tracking.metrics import metric_direction
from vipml.tracking.pyfunc import BUNDLE_KEY
from vipml.tracking.uri import check_tracking_reachable, short_message, tracking_uri_set

__all__ = [
    "CUSTOMERS_SUFFIX",
    "DEFAULT_MODEL_NAME",
    "CHALLENGER",
    "CHAMPION",
    "Comparison",
    "promote",
    "resolve_model_uri",
]

#: The per-customer model is registered as ``<name>-customers`` and follows ``<name>``'s aliases.
CUSTOMERS_SUFFIX = "-customers"
DEFAULT_MODEL_NAME = "vipml"
CHALLENGER = "challenger"
CHAMPION = "champion"


@dataclasses.dataclass(frozen=True)
class Comparison:
    """Challenger against champion on one metric, and what :func:`promote` did about it.

    Attributes
    ----------
    name
        The registered model.
    metric
        The metric compared.
    direction
        ``max`` when higher is better, ``min`` when lower is.
    challenger_version, challenger_value
        The challenger's version and its metric.
    champion_version, champion_value
        The champion's (None without a champion, or a champion without the metric).
    promoted
        Whether the challenger became the champion.
    reason
        Why, in a sentence.

    Examples
    --------
    >>> comparison = Comparison("vipml", "future_vip_average_precision", "max", "2", 0.31,
    ...                         "1", 0.28, True, "the challenger is better: version 2 promoted")
    >>> print("\\n".join(comparison.lines()))
    vipml: future_vip_average_precision (higher is better)
      champion    version 1    future_vip_average_precision = 0.28
      challenger  version 2    future_vip_average_precision = 0.31
      -> the challenger is better: version 2 promoted
    """

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
    without the metric is only replaced with ``force``. The champion replaced keeps the alias
    ``previous_champion``.

    Parameters
    ----------
    name
        The registered model.
    metric
        The logged metric to compare.
    force
        Promote even when the challenger is not better.
    direction
        ``auto`` (:func:`~vipml.tracking.metric_direction`), ``max`` or ``min``.
    tracking_uri
        The tracking store (default: :func:`~vipml.tracking.resolve_tracking_uri`).

    Returns
    -------
    Comparison
        Both sides, and whether the challenger was promoted.

    Raises
    ------
    TrackingError
        When the model or its challenger is missing, or the challenger lacks the metric.

    Examples
    --------
    >>> promote(tracking_uri="sqlite:////no/such/dir/mlflow.db")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    vipml.errors.TrackingError: MLflow tracking store sqlite:////no/such/dir/mlflow.db cannot ...
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
            _follow(client, f"{name}{CUSTOMERS_SUFFIX}", challenger, champion)
    except VipmlError:
        raise
    except Exception as exc:
        raise TrackingError(f"promoting {name!r} at {uri} failed: {short_message(exc)}") from exc
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


def _follow(client: MlflowClient, name: str, challenger: Any, champion: Any) -> None:
    """Give the companion model ``name`` (the per-customer one) the aliases its run's
    transaction-level versions just got: the same run, the same role."""
    for version, alias in ((challenger, CHAMPION), (champion, "previous_champion")):
        if version is None or (version is champion and champion.version == challenger.version):
            continue
        found = client.search_model_versions(f"name='{name}' and run_id='{version.run_id}'")
        if found:
            newest = max(found, key=lambda v: int(v.version))
            client.set_registered_model_alias(name, alias, newest.version)


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

    Parameters
    ----------
    model
        A bundle folder, or an MLflow model URI.
    dst
        Where a downloaded model goes.
    tracking_uri
        The tracking store (default: :func:`~vipml.tracking.resolve_tracking_uri`).

    Returns
    -------
    pathlib.Path
        The bundle folder.

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
        with warnings.catch_warnings(), tracking_uri_set(store):
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
            f"cannot load {uri} from {store}: {short_message(exc)}{hint}. Check the name, "
            f"version or alias and MLFLOW_TRACKING_URI"
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
