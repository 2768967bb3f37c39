"""MLflow tracking, model registry and batch serving: the only vipml package that imports mlflow.

The CLI imports it only when tracking is on (importing mlflow takes seconds); inside the
package mlflow is imported at the top of each module.

- :mod:`vipml.tracking.uri`: where runs go (:func:`resolve_tracking_uri`,
  :func:`resolve_experiment`) and :func:`check_tracking_reachable`, which answers within
  seconds, before any heavy work, with a :class:`~vipml.errors.TrackingError` that names the
  URI and the way out (``--no-tracking``);
- :mod:`vipml.tracking.runs`: what a run holds (:func:`tracked_run`, :class:`TrackedRun`);
- :mod:`vipml.tracking.metrics`: metrics flattened for MLflow (:func:`flatten_metrics`) and
  their better direction (:func:`metric_direction`);
- :mod:`vipml.tracking.pyfunc`: the model in MLflow, a pyfunc built "from code"
  (:class:`VipmlPyfunc`; logged models import it as ``vipml.tracking.VipmlPyfunc``);
- :mod:`vipml.tracking.registry`: the ``challenger`` / ``champion`` aliases (:func:`promote`)
  and model URIs resolved to local bundles (:func:`resolve_model_uri`).

A batch job scores with the champion through MLflow::

    model = mlflow.pyfunc.load_model("models:/vipml@champion")
    scores = model.predict(as_model_input(transactions), params={"cutoff": "1997-12-31"})

or through vipml, with the bundle folder :func:`resolve_model_uri` downloads (what
``vipml score --model models:/vipml@champion`` does).

Examples
--------
>>> is_model_uri("models:/vipml@champion"), is_model_uri("models/vipml-1997-12-31")
(True, False)
>>> resolve_tracking_uri("sqlite:////tmp/x/mlflow.db")
'sqlite:////tmp/x/mlflow.db'
"""

from vipml.bundle import MODEL_URI_SCHEMES, data_fingerprint, is_model_uri
from vipml.tracking.metrics import flatten_metrics, metric_direction
from vipml.tracking.pyfunc import VipmlPyfunc, as_model_input
from vipml.tracking.registry import (
    CHALLENGER,
    CHAMPION,
    DEFAULT_MODEL_NAME,
    Comparison,
    promote,
    resolve_model_uri,
)
from vipml.tracking.runs import LoggedVersion, TrackedRun, library_versions, tracked_run
from vipml.tracking.uri import (
    DEFAULT_EXPERIMENT,
    NO_TRACKING_HINT,
    check_tracking_reachable,
    resolve_experiment,
    resolve_tracking_uri,
)

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
    "as_model_input",
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
