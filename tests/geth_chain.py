"""The ``geth`` marker: tests that run geth (``make setup-geth`` builds it into .tools/bin), skipped
with the reason when it is not built, so a checkout without it still passes."""

from __future__ import annotations

import pytest

from gpurent.errors import ConfigurationError
from gpurent.local.geth import geth_binary


def geth_built() -> bool:
    try:
        geth_binary()
    except ConfigurationError:
        return False
    return True


needs_geth = [pytest.mark.geth,
              pytest.mark.skipif(not geth_built(), reason="geth is not built: `make setup-geth` (about 10 min)")]
