"""Save and load a trained model: a folder of JSON and LightGBM text, no pickles.

A bundle is data, not code: loading it never runs anything it contains. The folder holds

==========================  ==================================================================
``manifest.json``           what the model is: format, vipml and library versions, cutoff,
                            horizon, feature names, customer attributes, the optional inputs
                            it was trained with (:class:`~vipml.model_inputs.ModelInputs`:
                            scoring without one is refused), config, training-data
                            fingerprint, training cutoffs, metrics, and the files below
``btyd.json``               the lifetime-value model (BG/NBD or another purchase model, and
                            Gamma-Gamma): :meth:`LifetimeValueModel.to_dict`
``<target>.json``           per classifier (``future_vip``, ``churn``): hyperparameters,
                            feature lists, category levels, the linear prior and the
                            probability calibration (Platt coefficients or isotonic thresholds)
``<target>.lgb.txt``        the LightGBM trees (``Booster.model_to_string``)
==========================  ==================================================================

:meth:`VipModel.save` writes the folder atomically (a temporary folder renamed into place).
The manifest records the size and sha256 of every other file, and its own sha256 (over its
content without that key). :func:`load_model` verifies them before any file is parsed: a file
whose size differs (truncated, cut off) is always refused by name; a file or manifest edited in
place is refused unless ``strict=False``, which loads it with a warning; a bundle from an older
vipml without checksums loads with a warning. It then checks the manifest: a bundle from
another vipml major.minor version, or whose feature list differs from what this vipml builds,
raises :class:`ModelFormatError` saying what differs and how to fix it (``strict=False`` loads
it anyway, with a warning).

Examples
--------
>>> import tempfile
>>> load_model(tempfile.mkdtemp())  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
vipml.errors.ModelFormatError: ... is not a vipml model bundle (no manifest.json): ...
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import warnings
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from vipml.config import Config, config_from_dict, config_to_dict
from vipml.data.io import atomic_path
from vipml.errors import ConfigError, ModelFormatError
from vipml.model_columns import model_feature_names
from vipml.model_inputs import ModelInputs
from vipml.modeling.btyd import LifetimeValueModel
from vipml.modeling.classifier import VipClassifier
from vipml.version import __version__

__all__ = [
    "BUNDLE_FORMAT",
    "BUNDLE_FORMAT_VERSION",
    "MODEL_URI_SCHEMES",
    "VipModel",
    "BundleWarning",
    "is_model_uri",
    "load_model",
    "seal_manifest",
    "library_versions",
    "data_fingerprint",
]

log = logging.getLogger(__name__)

BUNDLE_FORMAT = "vipml-model"
BUNDLE_FORMAT_VERSION = 1
TARGETS = ("future_vip", "churn")
_LIBRARIES = ("numpy", "pandas", "scipy", "scikit-learn", "lightgbm", "lifetimes")


#: MLflow model URIs (resolved by :func:`vipml.tracking.resolve_model_uri`); anything else
#: naming a model is a bundle folder.
MODEL_URI_SCHEMES = ("models:/", "runs:/", "mlflow-artifacts:/")


def is_model_uri(model: str | os.PathLike[str]) -> bool:
    """True for an MLflow model URI (``models:/``, ``runs:/``, ``mlflow-artifacts:/``).

    Parameters
    ----------
    model : str or PathLike
        A model reference.

    Returns
    -------
    bool
        True for an MLflow model URI, False for a path.

    Examples
    --------
    >>> is_model_uri("models:/vipml@champion"), is_model_uri("models/vip")
    (True, False)
    """
    return str(model).startswith(MODEL_URI_SCHEMES)


class BundleWarning(UserWarning):
    """A bundle was loaded despite a mismatch (``load_model(..., strict=False)``)."""


def library_versions(extra: tuple[str, ...] = ()) -> dict[str, str]:
    """Versions of vipml, Python and the libraries a model depends on (and ``extra`` ones):
    the bundle's manifest and the MLflow run tags (with ``extra=("mlflow",)``) share it.

    Parameters
    ----------
    extra : tuple of str
        More distributions to list (e.g. ``('mlflow',)``).

    Returns
    -------
    dict of str to str
        Name to version (``'not installed'`` when missing).

    Examples
    --------
    >>> versions = library_versions()
    >>> versions["vipml"] == __version__, "python" in versions
    (True, True)
    """
    out = {"vipml": __version__, "python": platform.python_version()}
    for name in (*_LIBRARIES, *extra):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def data_fingerprint(transactions: pd.DataFrame) -> str:
    """An order-independent fingerprint of a transaction log (ids, timestamps, revenue).

    Parameters
    ----------
    transactions : pandas.DataFrame
        Validated transactions.

    Returns
    -------
    str
        Row count, date range and a hash of the rows (whatever their order).

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": [1, 2], "revenue": [5.0, 7.0],
    ...                    "timestamp": pd.to_datetime(["2024-01-01", "2024-01-02"])})
    >>> data_fingerprint(tx) == data_fingerprint(tx.iloc[::-1])
    True
    >>> data_fingerprint(tx).startswith("rows=2;")
    True
    """
    cols = [c for c in ("customer_id", "timestamp", "revenue") if c in transactions]
    hashed = pd.util.hash_pandas_object(transactions[cols], index=False).to_numpy()
    total = int(hashed.sum(dtype="uint64")) if len(hashed) else 0
    return f"rows={len(transactions)};hash={total:016x}"


def _major_minor(version: str) -> tuple[str, ...]:
    return tuple(str(version).split(".")[:2])


@dataclass
class VipModel:
    """A trained vipml model: lifetime value, future-VIP and churn classifiers, and context.

    Build one with :func:`vipml.pipeline.train`; score with :func:`vipml.pipeline.score`;
    save with :meth:`save` and load with :func:`load_model`.

    Attributes
    ----------
    config
        The config it was trained with (scoring reuses its feature and BTYD settings).
    cutoff
        The training cutoff: no data after it was read.
    horizon
        The label horizon (e.g. ``'26W'``): the scores predict ``(cutoff, cutoff + horizon]``.
    feature_names
        The classifiers' input columns (:func:`vipml.model_columns.model_feature_names`).
    btyd
        The lifetime-value model fitted at the cutoff.
    classifiers
        ``{'future_vip': VipClassifier, 'churn': VipClassifier}``.
    metrics
        Validation metrics (on the latest training window) of the models and the baselines.
    attributes
        Customer attribute columns used as categorical features (may be empty).
    data_fingerprint
        :func:`data_fingerprint` of the training transactions (up to the cutoff).
    training
        Training cutoffs, rows and positive rates per target.
    inputs
        The optional inputs it was trained with (:class:`vipml.model_inputs.ModelInputs`);
        scoring checks them.
    manifest
        The manifest read from disk (loaded models only).

    Examples
    --------
    >>> list(VipModel.__dataclass_fields__)[:4]  # trained by vipml.pipeline.train
    ['config', 'cutoff', 'horizon', 'feature_names']
    """

    config: Config
    cutoff: pd.Timestamp
    horizon: str
    feature_names: list[str]
    btyd: LifetimeValueModel
    classifiers: dict[str, VipClassifier]
    metrics: dict[str, Any] = field(default_factory=dict)
    attributes: list[str] = field(default_factory=list)
    data_fingerprint: str = ""
    training: dict[str, Any] = field(default_factory=dict)
    inputs: ModelInputs | None = None
    manifest: dict[str, Any] | None = None

    def __repr__(self) -> str:
        return (
            f"VipModel(cutoff={pd.Timestamp(self.cutoff):%Y-%m-%d}, horizon={self.horizon!r}, "
            f"features={len(self.feature_names)}, targets={list(self.classifiers)})"
        )

    @property
    def needed_inputs(self) -> ModelInputs:
        """:attr:`inputs`, or for a model without that record its attributes alone."""
        return self.inputs or ModelInputs.of_attributes(self.attributes)

    @property
    def future_vip(self) -> VipClassifier:
        """The future-VIP classifier."""
        return self.classifiers["future_vip"]

    @property
    def churn(self) -> VipClassifier:
        """The churn classifier."""
        return self.classifiers["churn"]

    def to_manifest(self) -> dict[str, Any]:
        """The manifest (see the module docs)."""
        files = {"btyd": "btyd.json"}
        for target in self.classifiers:
            files[target] = f"{target}.json"
            files[f"{target}_trees"] = f"{target}.lgb.txt"
        return {
            "format": BUNDLE_FORMAT,
            "format_version": BUNDLE_FORMAT_VERSION,
            "vipml_version": __version__,
            "libraries": library_versions(),
            "created": pd.Timestamp.now(tz="UTC").isoformat(timespec="seconds"),
            "cutoff": f"{pd.Timestamp(self.cutoff):%Y-%m-%d}",
            "horizon": str(self.horizon),
            "targets": list(self.classifiers),
            "feature_names": list(self.feature_names),
            "attributes": list(self.attributes),
            "inputs": None if self.inputs is None else self.inputs.to_dict(),
            "data_fingerprint": self.data_fingerprint,
            "training": _jsonable(self.training),
            "metrics": _jsonable(self.metrics),
            "config": config_to_dict(self.config),
            "files": files,
        }

    def save(self, path: str | Path) -> Path:
        """Write the bundle folder atomically (an existing folder is replaced); return it."""
        path = Path(path)
        manifest = self.to_manifest()
        with atomic_path(path) as tmp:
            tmp.mkdir(parents=True)
            _write_json(tmp / "btyd.json", self.btyd.to_dict())
            for target, clf in self.classifiers.items():
                _write_json(tmp / f"{target}.json", clf.to_dict())
                (tmp / f"{target}.lgb.txt").write_text(clf.booster_text(), encoding="utf-8")
            manifest["checksums"] = {
                name: _checksum((tmp / name).read_bytes()) for name in manifest["files"].values()
            }
            manifest = seal_manifest(manifest)
            _write_json(tmp / "manifest.json", manifest)
        self.manifest = manifest
        log.info("saved model bundle to %s", path)
        return path


def _inputs(data: Any, path: Path) -> ModelInputs | None:
    """The manifest's record of the model's inputs (None in a bundle from before it)."""
    if data is None:
        return None
    if not isinstance(data, dict):
        raise ModelFormatError(
            f"model bundle {path}: its manifest's inputs are not a mapping: the bundle is "
            "damaged; retrain or restore it"
        )
    return ModelInputs.from_dict(data)


def _jsonable(value: Any) -> Any:
    """Plain JSON data: NaN and inf become None, numpy and pandas scalars plain numbers."""
    return json.loads(json.dumps(value, default=_default), parse_constant=lambda _: None)


def _default(value: Any) -> Any:
    if isinstance(value, pd.Timestamp):
        return f"{value:%Y-%m-%d}"
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(_jsonable(data), indent=2, allow_nan=False), encoding="utf-8")


_SEAL = "manifest_sha256"


def _checksum(data: bytes) -> dict[str, Any]:
    return {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}


def _manifest_digest(manifest: dict[str, Any]) -> str:
    body = {k: v for k, v in manifest.items() if k != _SEAL}
    text = json.dumps(_jsonable(body), sort_keys=True, allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def seal_manifest(manifest: dict[str, Any]) -> dict[str, Any]:
    """The manifest with its own sha256 (over its content without that key) under
    ``manifest_sha256``: an edit of the manifest is then found when the bundle is loaded.

    Parameters
    ----------
    manifest : dict
        The manifest (an earlier seal is replaced).

    Returns
    -------
    dict
        A copy with ``manifest_sha256``.

    Examples
    --------
    >>> sealed = seal_manifest({"format": "vipml-model", "cutoff": "2024-06-30"})
    >>> len(sealed["manifest_sha256"]), sealed == seal_manifest(sealed)
    (64, True)
    """
    return {**manifest, _SEAL: _manifest_digest(manifest)}


def _verify_manifest(manifest: dict[str, Any], path: Path, strict: bool) -> None:
    if _SEAL not in manifest or "checksums" not in manifest:
        warnings.warn(
            f"model bundle {path} has no checksums (written by an older vipml): its files "
            "cannot be verified before they are read; retrain to get a verified bundle",
            BundleWarning,
            stacklevel=3,
        )
        return
    if manifest[_SEAL] != _manifest_digest(manifest):
        _mismatch(
            f"model bundle {path}: manifest.json differs from its own checksum: it was edited "
            "or damaged; retrain or restore the bundle",
            strict,
        )


def _verified_bytes(
    path: Path, what: str, manifest: dict[str, Any], strict: bool
) -> bytes:
    """A bundle file's bytes, checked against the manifest's size and sha256 before anything
    parses them. A size that differs is always refused (a truncated file can crash LightGBM);
    other content that differs is refused unless ``strict=False``."""
    if not path.is_file():
        raise ModelFormatError(f"model bundle {path.parent}: {path.name} ({what}) is missing")
    data = path.read_bytes()
    expected = (manifest.get("checksums") or {}).get(path.name)
    if expected is None:
        if "checksums" in manifest:
            raise ModelFormatError(
                f"model bundle {path.parent}: {path.name} has no checksum in the manifest: the "
                "bundle is damaged; retrain or restore it"
            )
        return data
    found = _checksum(data)
    if found["bytes"] != expected.get("bytes"):
        raise ModelFormatError(
            f"model bundle {path.parent}: {path.name}: {found['bytes']:,} bytes, the manifest "
            f"says {expected.get('bytes', 0):,}: the bundle is damaged; retrain or restore it"
        )
    if found["sha256"] != expected.get("sha256"):
        _mismatch(
            f"model bundle {path.parent}: {path.name}: its content differs from the manifest's "
            f"checksum (sha256 {found['sha256'][:12]}…, the manifest says "
            f"{str(expected.get('sha256'))[:12]}…): it was edited or damaged; retrain or "
            "restore the bundle",
            strict,
        )
    return data


def _parse_json(data: bytes, path: Path) -> Any:
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ModelFormatError(
            f"model bundle {path.parent}: {path.name} is not valid JSON ({exc}): the bundle is "
            "damaged, save it again"
        ) from None


def _read_json(path: Path, what: str) -> Any:
    if not path.exists():
        raise ModelFormatError(f"model bundle {path.parent}: {path.name} ({what}) is missing")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelFormatError(
            f"model bundle {path.parent}: {path.name} is not valid JSON ({exc}): the bundle is "
            "damaged, save it again"
        ) from None


def _mismatch(message: str, strict: bool) -> None:
    if strict:
        raise ModelFormatError(message + "; load_model(path, strict=False) loads it anyway")
    warnings.warn(message, BundleWarning, stacklevel=3)


def load_model(path: str | Path, strict: bool = True) -> VipModel:
    """Load a bundle written by :meth:`VipModel.save`, checking its manifest.

    Parameters
    ----------
    path
        The bundle folder.
    strict
        When True (the default), a bundle written by another vipml major.minor version, or
        whose feature list is not the one this vipml builds, raises
        :class:`~vipml.errors.ModelFormatError`; when False it loads with a
        :class:`BundleWarning`.

    Returns
    -------
    VipModel
        The model, ready to score.

    Raises
    ------
    ModelFormatError
        Not a bundle, a damaged file, or a mismatch (with ``strict``).

    Examples
    --------
    >>> import tempfile
    >>> load_model(tempfile.mkdtemp())  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    vipml.errors.ModelFormatError: ... is not a vipml model bundle (no manifest.json): ...
    """
    path = Path(path)
    if not path.is_dir() or not (path / "manifest.json").exists():
        raise ModelFormatError(
            f"{path} is not a vipml model bundle (no manifest.json): give the folder written by "
            "`vipml train --model-out` or VipModel.save()"
        )
    manifest = _read_json(path / "manifest.json", "manifest")
    if not isinstance(manifest, dict) or manifest.get("format") != BUNDLE_FORMAT:
        raise ModelFormatError(f"{path}/manifest.json is not a vipml model manifest")
    _verify_manifest(manifest, path, strict)
    if manifest.get("format_version") != BUNDLE_FORMAT_VERSION:
        raise ModelFormatError(
            f"model bundle {path}: format_version {manifest.get('format_version')!r} is not "
            f"supported (this vipml reads {BUNDLE_FORMAT_VERSION}): retrain with this vipml"
        )
    written_by = str(manifest.get("vipml_version", "unknown"))
    current = __version__
    if _major_minor(written_by) != _major_minor(current):
        _mismatch(
            f"model bundle {path} was written by vipml {written_by}; this is vipml {current} "
            "(bundles are read by the same major.minor version): retrain it with `vipml train` "
            f"or install vipml=={'.'.join(_major_minor(written_by))}.*",
            strict,
        )
    attributes = list(manifest.get("attributes", []))
    names = list(manifest.get("feature_names", []))
    expected = model_feature_names(attributes)
    if names != expected:
        missing = [n for n in names if n not in expected]
        new = [n for n in expected if n not in names]
        detail = []
        if missing:
            detail.append(f"the model uses {', '.join(missing)}, which this vipml does not build")
        if new:
            detail.append(f"this vipml builds {', '.join(new)}, which the model lacks")
        if not detail:
            detail.append("the features are the same but in another order")
        _mismatch(
            f"model bundle {path}: its feature list ({len(names)} features) differs from this "
            f"vipml's ({len(expected)}): {'; '.join(detail)}: retrain the model with this vipml",
            strict,
        )
    try:
        config = config_from_dict(manifest.get("config") or {})
    except ConfigError as exc:
        raise ModelFormatError(
            f"model bundle {path}: its config is not valid here: {exc}"
        ) from None
    files = manifest.get("files", {})

    def read(name: str, what: str) -> tuple[bytes, Path]:
        file = path / Path(str(name)).name  # a name, never a path out of the bundle
        return _verified_bytes(file, what, manifest, strict), file

    data, file = read(files.get("btyd", "btyd.json"), "BTYD")
    btyd = LifetimeValueModel.from_dict(_parse_json(data, file))
    classifiers = {}
    for target in manifest.get("targets", TARGETS):
        data, file = read(files.get(target, f"{target}.json"), f"{target} classifier")
        params = _parse_json(data, file)
        trees, trees_file = read(files.get(f"{target}_trees", f"{target}.lgb.txt"),
                                 f"{target} trees")
        try:
            text = trees.decode("utf-8")
        except UnicodeDecodeError:
            raise ModelFormatError(
                f"model bundle {path}: {trees_file.name} is not text: the bundle is damaged; "
                "retrain or restore it"
            ) from None
        clf = VipClassifier.from_dict(params, text)
        if clf.feature_names_ != names:
            raise ModelFormatError(
                f"model bundle {path}: the {target} classifier's features differ from the "
                "manifest's: the bundle is damaged, save it again"
            )
        classifiers[target] = clf
    return VipModel(
        config=config,
        cutoff=pd.Timestamp(manifest["cutoff"]),
        horizon=str(manifest["horizon"]),
        feature_names=names,
        btyd=btyd,
        classifiers=classifiers,
        metrics=dict(manifest.get("metrics") or {}),
        attributes=attributes,
        data_fingerprint=str(manifest.get("data_fingerprint", "")),
        training=dict(manifest.get("training") or {}),
        inputs=_inputs(manifest.get("inputs"), path),
        manifest=manifest,
    )
