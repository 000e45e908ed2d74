"""The key curves of each chapter's figure, read from one seed's `results.json`, for the envelope's bands.

`CURVES[chapter](results)` returns the `Curve`s that a sweep over seeds draws as bands
(`companion.envelope`): the curves the chapter's claims rest on, with the same labels as its figure.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from companion.envelope import Curve

CURVES: dict[str, Callable[[dict[str, Any]], list[Curve]]] = {}
