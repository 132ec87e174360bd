"""ResourceRegistry: providers, stake, resources, slashing, governance."""

from __future__ import annotations

import ape

from gpurent.units import TOKEN
from tests.conftest import PRICE, govern, register_provider, register_resource

ZERO = "0x0000000000000000000000000000000000000000"


def test_registerProvider_with_stake(suite, cast):
    r = suite.registry
    before = suite.token.balanceOf(cast.provider)
    tx = register_provider(suite, cast.provider, endpoint="http://10.0.0.5:8765")
    (ev,) = tx.events.filter(r.ProviderRegistered)
    assert ev["provider"] == cast.provider.address and ev.endpoint == "http://10.0.0.5:8765"
    info = r.getProvider(cast.provider)
    assert info.registered and info.stake == 100 * TOKEN and info.endpoint == "http://10.0.0.5:8765"
    assert before - suite.token.balanceOf(cast.provider) == 100 * TOKEN
    assert suite.token.balanceOf(r) == 100 * TOKEN
    with ape.reverts(r.RegistryProviderAlreadyRegistered, provider=cast.provider.address):
        r.registerProvider("http://x", 0, sender=cast.provider)


def test_registerProvider_endpoint_checks(suite, cast):
    with ape.reverts(suite.registry.RegistryInvalidEndpoint):
        suite.registry.registerProvider("", 0, sender=cast.provider)
    with ape.reverts(suite.registry.RegistryInvalidEndpoint, length=257, maxLength=256):
        suite.registry.registerProvider("h" * 257, 0, sender=cast.provider)


def test_updateEndpoint(suite, cast):
    with ape.reverts(suite.registry.RegistryProviderNotRegistered, provider=cast.provider.address):
        suite.registry.updateEndpoint("http://new", sender=cast.provider)
    register_provider(suite, cast.provider)
    tx = suite.registry.updateEndpoint("http://new:1", sender=cast.provider)
    assert tx.events.filter(suite.registry.EndpointUpdated)[0].endpoint == "http://new:1"
    assert suite.registry.getProvider(cast.provider).endpoint == "http://new:1"


def test_stake_adds(suite, cast):
    register_provider(suite, cast.provider, stake=0)
    suite.token.approve(suite.registry, 150 * TOKEN, sender=cast.provider)
    tx = suite.registry.stake(150 * TOKEN, sender=cast.provider)
    assert tx.events.filter(suite.registry.Staked)[0].totalStake == 150 * TOKEN
    with ape.reverts(suite.registry.RegistryInvalidAmount, amount=0):
        suite.registry.stake(0, sender=cast.provider)
    with ape.reverts(suite.registry.RegistryProviderNotRegistered):
        suite.registry.stake(1, sender=cast.outsider)


def test_registerResource(suite, cast):
    register_provider(suite, cast.provider)
    tx = suite.registry.registerResource("A100", 32, 256, 2000, PRICE, sender=cast.provider)
    (ev,) = tx.events.filter(suite.registry.ResourceRegistered)
    rid = ev.resourceId
    assert ev["provider"] == cast.provider.address and ev.gpuModel == "A100" and ev.pricePerHour == PRICE
    res = suite.registry.getResource(rid)
    assert (res.gpuModel, res.vcpu, res.memoryGB, res.storageGB) == ("A100", 32, 256, 2000)
    assert res.provider == cast.provider.address and res.available and not res.retired
    assert res.registeredAt == tx.timestamp and res.reputation == 0 and res.totalUptime == 0
    assert suite.registry.providerOf(rid) == cast.provider.address
    assert list(suite.registry.getProviderResources(cast.provider)) == [rid]
    assert suite.registry.getProvider(cast.provider).activeResources == 1
    assert suite.registry.resourceCount() == 1


def test_registerResource_requires_registration_and_stake(suite, cast):
    r = suite.registry
    with ape.reverts(r.RegistryProviderNotRegistered):
        r.registerResource("A100", 1, 1, 1, PRICE, sender=cast.provider)
    register_provider(suite, cast.provider, stake=TOKEN)
    with ape.reverts(r.RegistryInsufficientStake, provider=cast.provider.address, stake=TOKEN, minStake=100 * TOKEN):
        r.registerResource("A100", 1, 1, 1, PRICE, sender=cast.provider)


def test_registerResource_validation(suite, cast):
    r = suite.registry
    register_provider(suite, cast.provider)
    with ape.reverts(r.RegistryInvalidGpuModel):
        r.registerResource("", 1, 1, 1, PRICE, sender=cast.provider)
    with ape.reverts(r.RegistryInvalidGpuModel, length=32, maxLength=31):
        r.registerResource("X" * 32, 1, 1, 1, PRICE, sender=cast.provider)
    with ape.reverts(r.RegistryInvalidSpec):
        r.registerResource("A100", 0, 1, 1, PRICE, sender=cast.provider)
    with ape.reverts(r.RegistryInvalidSpec, vcpu=1, memoryGB=0):
        r.registerResource("A100", 1, 0, 1, PRICE, sender=cast.provider)
    with ape.reverts(r.RegistryInvalidPrice, price=0):
        r.registerResource("A100", 1, 1, 1, 0, sender=cast.provider)
    with ape.reverts(r.RegistryInvalidPrice, price=2**80, maxPrice=2**80 - 1):
        r.registerResource("A100", 1, 1, 1, 2**80, sender=cast.provider)


def test_update_availability_and_pricing_owner_only(suite, cast, resource_id):
    r = suite.registry
    for call, arg in ((r.updateAvailability, False), (r.updatePricing, 5 * TOKEN)):
        with ape.reverts(r.RegistryNotResourceProvider, resourceId=resource_id, caller=cast.outsider.address):
            call(resource_id, arg, sender=cast.outsider)
    tx = r.updateAvailability(resource_id, False, sender=cast.provider)
    assert not tx.events.filter(r.AvailabilityUpdated)[0].available
    tx = r.updatePricing(resource_id, 5 * TOKEN, sender=cast.provider)
    assert tx.events.filter(r.PricingUpdated)[0].newPrice == 5 * TOKEN
    res = r.getResource(resource_id)
    assert not res.available and res.pricePerHour == 5 * TOKEN
    with ape.reverts(r.RegistryInvalidPrice):
        r.updatePricing(resource_id, 0, sender=cast.provider)
    with ape.reverts(r.RegistryUnknownResource):
        r.updateAvailability(b"\x03" * 32, True, sender=cast.provider)


def test_retire_then_unstake_after_cooldown(suite, cast, resource_id, chain, params):
    r = suite.registry
    with ape.reverts(r.RegistryActiveResources, provider=cast.provider.address, activeResources=1):
        r.requestUnstake(sender=cast.provider)
    tx = r.retireResource(resource_id, sender=cast.provider)
    assert tx.events.filter(r.ResourceRetired)[0].resourceId == resource_id
    with ape.reverts(r.RegistryResourceRetired, resourceId=resource_id):
        r.updateAvailability(resource_id, True, sender=cast.provider)
    with ape.reverts(r.RegistryNoUnstakePending):
        r.withdrawStake(sender=cast.provider)
    unlock_at = r.requestUnstake(sender=cast.provider).timestamp + params.unstake_cooldown
    assert r.getProvider(cast.provider).unlockAt == unlock_at
    with ape.reverts(r.RegistryUnstakePending):
        r.requestUnstake(sender=cast.provider)
    with ape.reverts(r.RegistryUnstakePending):
        r.registerResource("A100", 1, 1, 1, PRICE, sender=cast.provider)
    with ape.reverts(r.RegistryUnstakePending):
        r.stake(1, sender=cast.provider)
    chain.pending_timestamp = unlock_at - 1
    with ape.reverts(r.RegistryStakeLocked, provider=cast.provider.address, unlockAt=unlock_at):
        r.withdrawStake(sender=cast.provider)
    chain.pending_timestamp = unlock_at
    before = suite.token.balanceOf(cast.provider)
    tx = r.withdrawStake(sender=cast.provider)
    assert tx.events.filter(r.StakeWithdrawn)[0].amount == 100 * TOKEN
    assert suite.token.balanceOf(cast.provider) - before == 100 * TOKEN
    assert r.getProvider(cast.provider).stake == 0
    with ape.reverts(r.RegistryNothingStaked):
        r.requestUnstake(sender=cast.provider)


def test_cancel_unstake(suite, cast):
    register_provider(suite, cast.provider)
    with ape.reverts(suite.registry.RegistryNoUnstakePending):
        suite.registry.cancelUnstake(sender=cast.provider)
    suite.registry.requestUnstake(sender=cast.provider)
    suite.registry.cancelUnstake(sender=cast.provider)
    assert suite.registry.getProvider(cast.provider).unlockAt == 0
    register_resource(suite, cast.provider)


def test_withdraw_and_retire_work_while_paused(suite, cast, resource_id, chain, params):
    r = suite.registry
    r.pause(sender=cast.admin)
    with ape.reverts(r.EnforcedPause):
        r.registerResource("A100", 1, 1, 1, PRICE, sender=cast.provider)
    with ape.reverts(r.EnforcedPause):
        r.registerProvider("http://x", 0, sender=cast.provider2)
    with ape.reverts(r.EnforcedPause):
        r.stake(TOKEN, sender=cast.provider)
    r.updateEndpoint("http://still-works", sender=cast.provider)
    r.retireResource(resource_id, sender=cast.provider)
    t = r.requestUnstake(sender=cast.provider).timestamp
    chain.pending_timestamp = t + params.unstake_cooldown
    r.withdrawStake(sender=cast.provider)
    r.unpause(sender=cast.admin)


def test_slash_burns_stake_within_its_cap(suite, cast, resource_id, chain):
    """Finding: one key with the slasher role could burn all provider stake in a couple of
    transactions. One slash burns at most 20% of the stake, at most once a day."""
    r = suite.registry
    govern(suite, cast.admin, r.grantRole, r.SLASHER_ROLE(), cast.outsider)  # a slasher to test with
    supply = suite.token.totalSupply()
    with ape.reverts(r.AccessControlUnauthorizedAccount):
        r.slash(cast.provider, TOKEN, "fraud", sender=cast.renter)
    tx = r.slash(cast.provider, 1000 * TOKEN, "data fraud", sender=cast.outsider)
    (ev,) = tx.events.filter(r.Slashed)
    assert (ev.amount, ev.remaining, ev.reason) == (20 * TOKEN, 80 * TOKEN, "data fraud")
    assert supply - suite.token.totalSupply() == 20 * TOKEN
    assert suite.token.balanceOf(r) == 80 * TOKEN
    again = r.slash(cast.provider, 1000 * TOKEN, "again", sender=cast.outsider)
    assert not again.events.filter(r.Slashed) and r.getProvider(cast.provider).stake == 80 * TOKEN
    # below the minimum stake its resources take no new jobs
    suite.token.approve(suite.marketplace, 10 * TOKEN, sender=cast.renter)
    with ape.reverts(r.RegistryInsufficientStake, provider=cast.provider.address, stake=80 * TOKEN,
                     minStake=100 * TOKEN):
        suite.marketplace.createJob(resource_id, "bafy", 3600, 10 * TOKEN, sender=cast.renter)
    with ape.reverts(r.RegistryProviderNotRegistered, provider=cast.renter2.address):
        r.slash(cast.renter2, TOKEN, "nobody", sender=cast.outsider)
    chain.pending_timestamp = tx.timestamp + 86400
    tx = r.slash(cast.provider, 1000 * TOKEN, "a day later", sender=cast.outsider)
    assert tx.events.filter(r.Slashed)[0].amount == 16 * TOKEN  # 20% of the 80 left


def test_stake_cannot_leave_before_the_jobs_it_backs(suite, cast, resource_id, chain, params):
    """Finding: a provider retired, unstaked and withdrew everything, then accepted and billed an
    old Created job with nothing left to slash. Open jobs now lock the stake."""
    from tests.conftest import create_job

    r, m = suite.registry, suite.marketplace
    job_id, _ = create_job(suite, cast.renter, resource_id)
    r.retireResource(resource_id, sender=cast.provider)
    t = r.requestUnstake(sender=cast.provider).timestamp
    chain.pending_timestamp = t + params.unstake_cooldown
    with ape.reverts(r.RegistryOpenJobs, provider=cast.provider.address, openJobs=1):
        r.withdrawStake(sender=cast.provider)
    m.cancelJob(job_id, sender=cast.renter)
    r.withdrawStake(sender=cast.provider)
    assert r.getProvider(cast.provider).stake == 0


def test_oracle_updates_uptime_and_reputation_within_bounds(suite, cast, resource_id, chain):
    """Finding: an uptime of 2**64-1 made later updates overflow; any resource score could be
    set. Uptime credits are bounded by the time that passed; scores mirror the provider's."""
    r = suite.registry
    registered = r.getResource(resource_id).registeredAt
    with ape.reverts(r.AccessControlUnauthorizedAccount):
        r.updateUptime(resource_id, 60, sender=cast.provider)
    chain.pending_timestamp = registered + 100
    with ape.reverts(r.RegistryUptimeTooLarge, resourceId=resource_id, additionalSeconds=2**64 - 1, maxSeconds=100):
        r.updateUptime(resource_id, 2**64 - 1, sender=cast.oracle)
    r.updateUptime(resource_id, 60, sender=cast.oracle)
    chain.pending_timestamp = registered + 150
    tx = r.updateUptime(resource_id, 40, sender=cast.oracle)
    assert tx.events.filter(r.UptimeUpdated)[0].totalUptime == 100
    score = suite.reputation.getScore(cast.provider)
    with ape.reverts(r.RegistryInvalidReputation, reputation=1001, maxReputation=1000):
        r.updateReputation(resource_id, 1001, sender=cast.oracle)
    with ape.reverts(r.AccessControlUnauthorizedAccount):
        r.updateReputation(resource_id, score, sender=cast.provider)
    with ape.reverts(r.RegistryReputationMismatch, resourceId=resource_id, reputation=1000, score=score):
        r.updateReputation(resource_id, 1000, sender=cast.oracle)
    r.updateReputation(resource_id, score, sender=cast.oracle)
    res = r.getResource(resource_id)
    assert (res.totalUptime, res.reputation) == (100, score)
    with ape.reverts(r.RegistryLinksSet, marketplace=suite.marketplace.address, reputation=suite.reputation.address):
        govern(suite, cast.admin, r.setLinks, suite.marketplace, suite.reputation)


def test_governance_parameters(suite, cast):
    r = suite.registry
    with ape.reverts(r.AccessControlUnauthorizedAccount):
        r.setMinStake(1, sender=cast.outsider)
    tx = govern(suite, cast.admin, r.setMinStake, 5 * TOKEN)
    assert tx.events.filter(r.MinStakeUpdated)[0].minStake == 5 * TOKEN and r.minStake() == 5 * TOKEN
    with ape.reverts(r.RegistryInvalidParameter, value=91 * 86400, minValue=0, maxValue=90 * 86400):
        govern(suite, cast.admin, r.setUnstakeCooldown, 91 * 86400)
    govern(suite, cast.admin, r.setUnstakeCooldown, 3600)
    assert r.unstakeCooldown() == 3600
    with ape.reverts(r.AccessControlUnauthorizedAccount):
        r.pause(sender=cast.outsider)


def test_links_are_checked_and_needed(project, suite, cast):
    """Before setLinks nothing that needs the Marketplace or the ReputationSystem works, and a
    zero link is refused with both addresses."""
    r = project.ResourceRegistry.deploy(suite.token, cast.admin, 0, 0, sender=cast.admin)
    zero = "0x0000000000000000000000000000000000000000"
    with ape.reverts(r.RegistryInvalidLinks, marketplace=suite.marketplace.address, reputation=zero):
        r.setLinks(suite.marketplace, zero, sender=cast.admin)
    suite.token.approve(r, TOKEN, sender=cast.provider)
    r.registerProvider("http://p", TOKEN, sender=cast.provider)
    r.requestUnstake(sender=cast.provider)  # the cooldown is 0
    with ape.reverts(r.RegistryLinksNotSet):
        r.withdrawStake(sender=cast.provider)
    with ape.reverts(r.RegistryInvalidParameter, value=2**96, minValue=0, maxValue=2**96 - 1):
        r.setMinStake(2**96, sender=cast.admin)


def test_registerResource_gpuModel_printable_ascii_only(suite, cast):
    """A GPU model is printed on every renter's terminal: only 0x20-0x7E, checked for every byte
    value at the first, a middle and the last position a model can have."""
    r = suite.registry
    register_provider(suite, cast.provider)
    tx = r.registerResource("[/x] A100 ~!", 1, 1, 1, PRICE, sender=cast.provider)  # markup is the CLI's to escape
    assert r.getResource(tx.events.filter(r.ResourceRegistered)[0].resourceId).gpuModel == "[/x] A100 ~!"
    for model, position, value in (("A100\x1b]0;pwned\x07", 4, 0x1B), ("\x00", 0, 0), ("A\x7f", 1, 0x7F),
                                   ("A100 \u202e", 5, 0xE2), ("X" * 29 + "\x9b", 29, 0xC2)):
        with ape.reverts(r.RegistryInvalidGpuModelByte, position=position, value=value):
            r.registerResource(model, 1, 1, 1, PRICE, sender=cast.provider)
    # every byte value, sent as raw calldata (a str argument would arrive UTF-8 encoded)
    from eth_abi import encode
    from web3 import Web3

    from gpurent.reverts import decode_revert

    web3 = ape.chain.provider.web3
    selector = Web3.keccak(text="registerResource(string,uint16,uint32,uint32,uint256)")[:4]
    for position, length in ((0, 1), (15, 31), (30, 31)):
        for value in range(256):
            model = bytearray(b"M" * length)
            model[position] = value
            data = selector + encode(["bytes", "uint16", "uint32", "uint32", "uint256"], [bytes(model), 1, 1, 1, PRICE])
            try:
                web3.eth.call({"to": r.address, "from": cast.provider.address, "data": Web3.to_hex(data)})
                refused = None
            except Exception as err:  # noqa: BLE001 - decoded below; anything else fails the assert
                refused = decode_revert(err) or repr(err)
            if 0x20 <= value <= 0x7E:
                assert refused is None, (position, value, refused)
            else:
                assert refused == ("RegistryInvalidGpuModelByte", {"position": position, "value": value}), \
                    (position, value, refused)
