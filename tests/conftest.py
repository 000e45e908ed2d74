"""Test session set-up: results written by tests (and by nbval's kernels) go to a temporary folder."""

import os
import tempfile

os.environ["COMPANION_RESULTS_DIR"] = tempfile.mkdtemp(prefix="companion-test-results-")
os.environ.pop("MPLBACKEND", None)
