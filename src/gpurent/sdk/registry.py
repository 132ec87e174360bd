"""ResourceRegistry: providers (endpoint, stake) and their GPUs (price, availability, uptime)."""

from __future__ import annotations

from decimal import Decimal

from gpurent.errors import InvalidInput
from gpurent.sdk.base import Base
from gpurent.sdk.inputs import Tokens, parse_id, tokens_in
from gpurent.sdk.tx import Tx
from gpurent.types import ProviderInfo, Resource
from gpurent.units import to_tokens
from gpurent.wire.endpoint import parse_endpoint


class RegistryCalls(Base):
    # ---------------------------------------------------------------- providers

    def register_provider(self, endpoint: str, stake: Tokens = 0) -> Tx[None]:
        """Registers the account as a provider with its agent endpoint, staking ``stake``;
        InvalidEndpoint, before anything is sent, when ``endpoint`` is not
        ``http(s)://host[:port][/path]`` (see :func:`~gpurent.wire.endpoint.parse_endpoint`)."""
        parse_endpoint(endpoint)
        units = tokens_in(stake, "stake")
        if units:
            self._ensure_allowance(self.registry.address, units, "stake")
        return self._send("register as a provider", self.registry.registerProvider, endpoint, units)

    def update_endpoint(self, endpoint: str) -> Tx[None]:
        """Moves the provider's agent endpoint; InvalidEndpoint as for :meth:`register_provider`."""
        parse_endpoint(endpoint)
        return self._send("update the endpoint", self.registry.updateEndpoint, endpoint)

    def set_encryption_key(self, key: bytes | None) -> Tx[None]:
        """Publishes (or rotates) the provider's 32-byte X25519 public key renters seal secrets
        to; None or 32 zero bytes clears it. InvalidInput, before anything is sent, for any other
        length."""
        raw = bytes(32) if key is None else key
        if not isinstance(raw, bytes | bytearray) or len(raw) != 32:
            raise InvalidInput("an encryption key is 32 bytes (an X25519 public key)")
        return self._send("publish the encryption key", self.registry.setEncryptionKey, bytes(raw))

    def encryption_key_of(self, provider: str | None = None) -> bytes | None:
        """The X25519 public key ``provider`` (default: this account) published, or None."""
        raw = bytes(self._call("read the encryption key of", self.registry.encryptionKeyOf,
                               provider or self.address))
        return None if raw == bytes(32) else raw

    def stake(self, amount: Tokens) -> Tx[None]:
        units = tokens_in(amount, "stake")
        self._ensure_allowance(self.registry.address, units, "stake")
        return self._send("stake", self.registry.stake, units)

    def request_unstake(self) -> Tx[None]:
        return self._send("request an unstake", self.registry.requestUnstake)

    def cancel_unstake(self) -> Tx[None]:
        return self._send("cancel the unstake", self.registry.cancelUnstake)

    def withdraw_stake(self) -> Tx[None]:
        return self._send("withdraw the stake", self.registry.withdrawStake)

    def slash(self, provider: str, amount: Tokens, reason: str) -> Tx[None]:
        """Burns up to ``amount`` of a provider's stake (SLASHER_ROLE)."""
        return self._send("slash", self.registry.slash, provider, tokens_in(amount, "amount"), reason)

    def provider(self, address: str | None = None) -> ProviderInfo:
        address = address or self.address
        return ProviderInfo.from_chain(address, self.registry.getProvider(address))

    # ---------------------------------------------------------------- resources (GPUs)

    def register_resource(self, gpu_model: str, vcpu: int, memory_gb: int, storage_gb: int,
                          price_per_hour: Tokens) -> Tx[Resource]:
        """Lists a GPU; the transaction's value is the new resource."""
        tx = self._send("register a GPU", self.registry.registerResource, gpu_model, vcpu, memory_gb,
                        storage_gb, tokens_in(price_per_hour, "price"))
        resource_id = tx.events.filter(self.registry.ResourceRegistered)[0].resourceId
        return tx.with_value(self.resource(resource_id))

    def update_availability(self, resource_id: str | bytes, available: bool) -> Tx[None]:
        return self._send("change the availability of", self.registry.updateAvailability,
                          parse_id(resource_id, "GPU"), available)

    def update_pricing(self, resource_id: str | bytes, price_per_hour: Tokens) -> Tx[None]:
        return self._send("reprice", self.registry.updatePricing, parse_id(resource_id, "GPU"),
                          tokens_in(price_per_hour, "price"))

    def retire_resource(self, resource_id: str | bytes) -> Tx[None]:
        return self._send("retire", self.registry.retireResource, parse_id(resource_id, "GPU"))

    def update_uptime(self, resource_id: str | bytes, additional_seconds: int) -> Tx[None]:
        return self._send("report uptime of", self.registry.updateUptime, parse_id(resource_id, "GPU"),
                          additional_seconds)

    def update_resource_reputation(self, resource_id: str | bytes, reputation: int) -> Tx[None]:
        return self._send("set the reputation of", self.registry.updateReputation,
                          parse_id(resource_id, "GPU"), reputation)

    def resource(self, resource_id: str | bytes) -> Resource:
        return Resource.from_chain(self._call("read GPU", self.registry.getResource,
                                              parse_id(resource_id, "GPU")))

    def provider_resources(self, provider: str | None = None) -> list[Resource]:
        ids = self.registry.getProviderResources(provider or self.address)
        return [self.resource(rid) for rid in ids]

    def job_terms(self, resource_id: str | bytes) -> tuple[str, Decimal]:
        """(provider, price per hour) a new job on the GPU would get; raises if not bookable."""
        provider, price = self._call("book", self.registry.getJobTerms, parse_id(resource_id, "GPU"))
        return str(provider), to_tokens(price)

    def resource_count(self) -> int:
        return int(self.registry.resourceCount())
