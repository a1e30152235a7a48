"""Make the repository root importable, so that ``import benchmarks`` finds the runner
(``benchmarks/`` sits beside ``src/``, outside the installed package). A no-op once pytest's
``pythonpath`` setting includes the root."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = str(Path(__file__).resolve().parents[3])
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
