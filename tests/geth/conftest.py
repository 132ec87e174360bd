"""The geth tests run on a chain of their own, not the session's Anvil: Ape's chain isolation
(a snapshot before each test, reverted after) is switched off for them. Left on, it would take
its snapshot while Ape is connected to geth, which has no ``evm_snapshot``. Ape then turns
isolation off for the rest of the session, and every later test would see the earlier ones'
chain state. The session's Anvil is left as the tests before these left it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(scope="package")
def _package_isolation() -> Iterator[None]:
    yield


@pytest.fixture(scope="module")
def _module_isolation() -> Iterator[None]:
    yield


@pytest.fixture(scope="class")
def _class_isolation() -> Iterator[None]:
    yield


@pytest.fixture
def _function_isolation() -> Iterator[None]:
    yield
