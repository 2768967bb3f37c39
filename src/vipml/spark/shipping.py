"""The model shipped to the workers as its bundle files, loaded once per worker."""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from vipml.bundle import is_model_uri, load_model
from vipml.errors import (
    ModelFormatError,
)
from vipml.tempfiles import scratch

log = logging.getLogger(__name__)


_LOADED: dict[str, Any] = {}
"""Models loaded in this (worker) process, by bundle digest: each is loaded once per worker."""


class ShippedBundle:
    """A model bundle's files as bytes: what the workers receive (no pickled estimator).

    The closure Spark sends to every worker holds this object: plain bytes of
    ``manifest.json``, the JSON parameters and the LightGBM text models. A worker writes them
    to a temporary folder once and loads them with :func:`vipml.load_model`, exactly as the
    single-machine path loads a bundle, so both paths score with the same model.

    Parameters
    ----------
    files
        The bundle's files by relative path.

    Attributes
    ----------
    files
        The files, sorted by path.
    digest
        A SHA-256 of the names and contents: the key the workers load the model under.

    Examples
    --------
    >>> shipped = ShippedBundle({"model.txt": b"tree", "manifest.json": b"{}"})
    >>> list(shipped.files), len(shipped.digest)
    (['manifest.json', 'model.txt'], 64)
    >>> shipped.digest == ShippedBundle({"manifest.json": b"{}", "model.txt": b"tree"}).digest
    True
    """

    def __init__(self, files: Mapping[str, bytes]) -> None:

        self.files = dict(sorted(files.items()))
        digest = hashlib.sha256()
        for name, data in self.files.items():
            digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
        self.digest = digest.hexdigest()

    @classmethod
    def from_folder(cls, folder: str | os.PathLike[str]) -> ShippedBundle:
        """Read every file of a bundle folder."""

        root = Path(folder)
        if not (root / "manifest.json").exists():

            raise ModelFormatError(
                f"{root} is not a vipml model bundle (no manifest.json): give the folder "
                "written by vipml train or VipModel.save, or an MLflow model URI"
            )
        files = {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}
        return cls(files)

    @classmethod
    def from_model(cls, model: Any) -> ShippedBundle:
        """From a loaded model (saved to a temporary folder), a bundle folder or a model URI
        (``models:/vipml@champion``, resolved on the driver with
        :func:`vipml.tracking.resolve_model_uri`)."""

        if isinstance(model, ShippedBundle):
            return model
        if isinstance(model, str | os.PathLike):
            if is_model_uri(model):
                # mlflow is imported only when a model URI is given (slow to import)
                from vipml.tracking import resolve_model_uri

                return cls.from_folder(resolve_model_uri(model))
            return cls.from_folder(model)
        with scratch("ship") as tmp:
            target = os.path.join(tmp, "bundle")
            model.save(target)
            return cls.from_folder(target)

    def load(self) -> Any:
        """The model, loaded once per process from a private copy of the files."""
        model = _LOADED.get(self.digest)
        if model is None:

            with scratch("bundle") as root:  # the files are read whole, then removed
                for name, data in self.files.items():
                    path = root / name
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(data)
                model = _LOADED[self.digest] = load_model(root)
        return model


