"""Self-checks for the exercises whose answer is a number: `check("ex-...", answer, **inputs)`.

`judge` holds the framework (targets, verdicts that say only which way an answer is off); each chapter's
formulas live in a module named after the chapter (`sgd_vs_gd` for `sgd-vs-gd`), registered with the
`exercise` decorator. Importing this package loads them all.
"""

import importlib
import pkgutil

from companion.exercises.judge import CHECKS, check, describe, expected

for _module in pkgutil.iter_modules(__path__):
    if _module.name != "judge":
        importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["CHECKS", "check", "describe", "expected"]
