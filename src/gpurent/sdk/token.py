"""GPUToken: balances, allowances, transfers, burn and the devnet's mint."""

from __future__ import annotations

from decimal import Decimal

from gpurent.sdk.base import Base
from gpurent.sdk.inputs import Tokens, tokens_in
from gpurent.sdk.tx import Tx
from gpurent.units import to_tokens


class TokenCalls(Base):
    def balance(self, address: str | None = None) -> Decimal:
        """GPU token balance of ``address`` (default: the account)."""
        return to_tokens(self.token.balanceOf(address or self.address))

    def allowance(self, owner: str, spender: str) -> Decimal:
        return to_tokens(self.token.allowance(owner, spender))

    def approve(self, spender: str, amount: Tokens) -> Tx[None]:
        return self._send("approve", self.token.approve, spender, tokens_in(amount, "amount"))

    def transfer(self, to: str, amount: Tokens) -> Tx[None]:
        return self._send("transfer", self.token.transfer, to, tokens_in(amount, "amount"))

    def burn(self, amount: Tokens) -> Tx[None]:
        """Burns the account's own tokens."""
        return self._send("burn", self.token.burn, tokens_in(amount, "amount"))

    def mint(self, to: str, amount: Tokens) -> Tx[None]:
        """Mints tokens (MINTER_ROLE; the devnet faucet)."""
        return self._send("mint", self.token.mint, to, tokens_in(amount, "amount"))
