"""The Gauss hypergeometric function on the log scale, as the purchase models need it.

Examples
--------
>>> import numpy as np
>>> round(float(log_hyp2f1(np.array(1.0), np.array(1.0), np.array(2.0), np.array(0.5))), 6)
0.326634
"""

from __future__ import annotations

import numpy as np
from scipy.special import hyp2f1

__all__ = ["log_hyp2f1"]


def log_hyp2f1(a: np.ndarray, b: np.ndarray, c: np.ndarray, z: np.ndarray) -> np.ndarray:
    """log 2F1(a, b; c; z), with Euler's transformation where the direct value overflows.

    Parameters
    ----------
    a, b, c, z
        The function's arguments (broadcast together; ``z < 1``).

    Returns
    -------
    numpy.ndarray
        ``log 2F1(a, b; c; z)``.

    Examples
    --------
    >>> import numpy as np
    >>> log_hyp2f1(np.array([1.0]), np.array([1.0]), np.array([1.0]), np.array([0.0])).tolist()
    [0.0]
    """
    direct = np.log(hyp2f1(a, b, c, z))
    bad = ~np.isfinite(direct)
    if bad.any():
        ab, bb, cb, zb = (np.broadcast_to(v, direct.shape)[bad] for v in (a, b, c, z))
        direct[bad] = np.log(hyp2f1(cb - ab, cb - bb, cb, zb)) + (cb - ab - bb) * np.log1p(-zb)
    return direct
