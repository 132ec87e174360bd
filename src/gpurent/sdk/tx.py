"""What a transaction sent through the SDK returns: its result together with its receipt."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from ape.api.transactions import ReceiptAPI
    from ape.types.events import ContractLogContainer

T = TypeVar("T", covariant=True)
U = TypeVar("U")


@dataclass(frozen=True)
class Tx(Generic[T]):
    """A mined transaction: ``value`` is what the call produced (the new :class:`~gpurent.types.Job`
    of ``create_job``, the new :class:`~gpurent.types.Resource` of ``register_resource``; None
    for most calls), ``receipt`` is Ape's receipt. Hash, gas, block, time and events read
    through to the receipt."""

    value: T
    receipt: ReceiptAPI

    @property
    def txn_hash(self) -> str:
        return str(self.receipt.txn_hash)

    @property
    def gas_used(self) -> int:
        return self.receipt.gas_used

    @property
    def block_number(self) -> int:
        return self.receipt.block_number

    @property
    def timestamp(self) -> int:
        return self.receipt.timestamp

    @property
    def events(self) -> ContractLogContainer:
        return self.receipt.events

    def with_value(self, value: U) -> Tx[U]:
        """The same transaction, carrying ``value`` as its result."""
        return Tx(value, self.receipt)
