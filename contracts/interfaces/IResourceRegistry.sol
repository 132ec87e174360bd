// SPDX-License-Identifier: MIT
pragma solidity 0.8.20;

/// @title IResourceRegistry
/// @notice Types, errors and events of the on-chain GPU registry and provider stake.
interface IResourceRegistry {
    /// @notice A GPU offer as returned by {getResource}.
    struct GPUResource {
        bytes32 resourceId;
        address provider;
        string gpuModel; // "RTX4090", "A100" (at most 31 bytes)
        uint16 vcpu;
        uint32 memoryGB;
        uint32 storageGB;
        uint256 pricePerHour; // base units of GPUToken per hour
        bool available;
        bool retired;
        uint64 totalUptime; // seconds, reported by the oracle
        uint16 reputation; // 0-1000, mirrored from the provider's reputation by the oracle
        uint64 registeredAt;
    }

    /// @notice A provider's stake and agent endpoint as returned by {getProvider}.
    struct ProviderInfo {
        bool registered;
        string endpoint; // URL of the provider agent (heartbeats, challenges, job logs)
        uint256 stake; // base units
        uint64 unlockAt; // 0 = no unstake pending; otherwise the stake is withdrawable from then on
        uint32 activeResources; // registered and not retired
        uint256 slashDebt; // slashed but not yet burnt (that stake backs early pay): burnt at withdrawal
    }

    // ----------------------------------------------------------------- errors
    /// @notice Raised when `resourceId` was never registered.
    error RegistryUnknownResource(bytes32 resourceId);
    /// @notice Raised when `caller` is not the provider of `resourceId`.
    error RegistryNotResourceProvider(bytes32 resourceId, address caller);
    /// @notice Raised when `resourceId` has been retired and can no longer change or take jobs.
    error RegistryResourceRetired(bytes32 resourceId);
    /// @notice Raised when `resourceId` is marked unavailable and cannot take a job.
    error RegistryResourceUnavailable(bytes32 resourceId);
    /// @notice Raised when `provider` must register (endpoint and stake) first.
    error RegistryProviderNotRegistered(address provider);
    /// @notice Raised when `provider` registers a second time.
    error RegistryProviderAlreadyRegistered(address provider);
    /// @notice Raised when `provider` holds `stake` but `minStake` is needed.
    error RegistryInsufficientStake(address provider, uint256 stake, uint256 minStake);
    /// @notice Raised when `provider` still has `activeResources` resources that are not retired.
    error RegistryActiveResources(address provider, uint256 activeResources);
    /// @notice Raised when `provider` has an unstake pending (register or stake after cancelling it).
    error RegistryUnstakePending(address provider, uint256 unlockAt);
    /// @notice Raised when `provider` has no unstake pending.
    error RegistryNoUnstakePending(address provider);
    /// @notice Raised when the stake of `provider` is locked until `unlockAt`.
    error RegistryStakeLocked(address provider, uint256 unlockAt);
    /// @notice Raised when `provider` has nothing staked.
    error RegistryNothingStaked(address provider);
    /// @notice Raised when a GPU model name is `length` bytes: empty or above `maxLength`
    /// (MAX_GPU_MODEL_LENGTH).
    error RegistryInvalidGpuModel(uint256 length, uint256 maxLength);
    /// @notice Raised when the GPU model's byte at `position` (from 0) is `value`, which is not
    /// printable ASCII (0x20 to 0x7E): models are printed on every renter's terminal.
    error RegistryInvalidGpuModelByte(uint256 position, uint8 value);
    /// @notice Raised when an endpoint URL is `length` bytes: empty or above `maxLength`
    /// (MAX_ENDPOINT_LENGTH).
    error RegistryInvalidEndpoint(uint256 length, uint256 maxLength);
    /// @notice Raised when `price` is zero or above `maxPrice` (MAX_PRICE_PER_HOUR, what the
    /// packed uint80 field holds).
    error RegistryInvalidPrice(uint256 price, uint256 maxPrice);
    /// @notice Raised when a resource spec of `vcpu` vCPUs and `memoryGB` GB has zero of either.
    error RegistryInvalidSpec(uint256 vcpu, uint256 memoryGB);
    /// @notice Raised when a `reputation` value is above `maxReputation` (MAX_REPUTATION).
    error RegistryInvalidReputation(uint256 reputation, uint256 maxReputation);
    /// @notice Raised when an amount is zero or too large.
    error RegistryInvalidAmount(uint256 amount);
    /// @notice Raised when `value` for the governance parameter named `parameter` (its Solidity
    /// name, as text) is outside `minValue`..`maxValue`, both included.
    error RegistryInvalidParameter(bytes32 parameter, uint256 value, uint256 minValue, uint256 maxValue);
    /// @notice Raised when stake would leave while `provider` still has `openJobs` jobs it backs.
    error RegistryOpenJobs(address provider, uint256 openJobs);
    /// @notice Raised when `caller` is not the linked Marketplace.
    error RegistryNotMarketplace(address caller);
    /// @notice Raised when the links are set a second time; `marketplace` and `reputation` are
    /// the links already set.
    error RegistryLinksSet(address marketplace, address reputation);
    /// @notice Raised when the links are set to `marketplace` and `reputation` and either is the
    /// zero address.
    error RegistryInvalidLinks(address marketplace, address reputation);
    /// @notice Raised when a call needs the Marketplace and ReputationSystem links before
    /// {setLinks} set them (no value to report: nothing is linked).
    error RegistryLinksNotSet();
    /// @notice Raised when more uptime is credited than time has passed (`maxSeconds`).
    error RegistryUptimeTooLarge(bytes32 resourceId, uint256 additionalSeconds, uint256 maxSeconds);
    /// @notice Raised when a resource reputation differs from its provider's score `score`.
    error RegistryReputationMismatch(bytes32 resourceId, uint256 reputation, uint256 score);

    // ----------------------------------------------------------------- events
    /// @notice Emitted when `provider` registers with an agent `endpoint` and an initial `stake`.
    event ProviderRegistered(address indexed provider, string endpoint, uint256 stake);
    /// @notice Emitted when `provider` changes its agent endpoint.
    event EndpointUpdated(address indexed provider, string endpoint);
    /// @notice Emitted when `provider` publishes, rotates (or, with zero, clears) the X25519
    /// public key renters seal its jobs' secrets to.
    event EncryptionKeySet(address indexed provider, bytes32 key);
    /// @notice Emitted when `provider` adds `amount` to its stake, now `totalStake`.
    event Staked(address indexed provider, uint256 amount, uint256 totalStake);
    /// @notice Emitted when `provider` starts the unstake cooldown, withdrawable at `unlockAt`.
    event UnstakeRequested(address indexed provider, uint256 unlockAt);
    /// @notice Emitted when `provider` cancels a pending unstake.
    event UnstakeCancelled(address indexed provider);
    /// @notice Emitted when `provider` withdraws `amount`, its whole stake.
    event StakeWithdrawn(address indexed provider, uint256 amount);
    /// @notice Emitted when `amount` of the stake of `provider` is burnt; `remaining` is left.
    event Slashed(address indexed provider, uint256 amount, uint256 remaining, string reason);
    /// @notice Emitted when `amount` of a slash cannot be burnt yet, because that stake backs pay
    /// released early on open jobs; it is owed (`debt` in all) and burnt when the stake leaves.
    event SlashDeferred(address indexed provider, uint256 amount, uint256 debt, string reason);
    /// @notice Emitted when a resource is registered (SPEC event, with the spec for indexers).
    event ResourceRegistered(
        bytes32 indexed resourceId,
        address indexed provider,
        string gpuModel,
        uint16 vcpu,
        uint32 memoryGB,
        uint32 storageGB,
        uint256 pricePerHour
    );
    /// @notice Emitted when a resource is marked available or unavailable.
    event AvailabilityUpdated(bytes32 indexed resourceId, bool available);
    /// @notice Emitted when a resource's hourly price changes (open jobs keep their price).
    event PricingUpdated(bytes32 indexed resourceId, uint256 newPrice);
    /// @notice Emitted when a resource is retired for good.
    event ResourceRetired(bytes32 indexed resourceId, address indexed provider);
    /// @notice Emitted when the oracle credits `additionalSeconds` of uptime; `totalUptime` now.
    event UptimeUpdated(bytes32 indexed resourceId, uint256 additionalSeconds, uint256 totalUptime);
    /// @notice Emitted when the oracle sets a resource's reputation.
    event ResourceReputationUpdated(bytes32 indexed resourceId, uint256 reputation);
    /// @notice Emitted when governance changes the minimum stake.
    event MinStakeUpdated(uint256 minStake);
    /// @notice Emitted when governance changes the unstake cooldown.
    event UnstakeCooldownUpdated(uint256 cooldown);
    /// @notice Emitted once, when governance links the Marketplace and the ReputationSystem.
    event LinksSet(address indexed marketplace, address indexed reputation);
    /// @notice Emitted when the Marketplace pays `amount` of `provider`'s stake to `to` (a
    /// ProviderFault ruling clawing back what the provider was already paid).
    event StakeSeized(address indexed provider, address indexed to, uint256 amount, uint256 remaining);

    /// @notice The provider and hourly price a new job on `resourceId` is created with.
    /// @dev Reverts unless the resource exists, is available, not retired, and its provider's
    /// stake is at least the minimum stake.
    function getJobTerms(bytes32 resourceId) external view returns (address provider, uint256 pricePerHour);

    /// @notice A provider's registration, endpoint and stake.
    function getProvider(address provider) external view returns (ProviderInfo memory);

    /// @notice The stake of `provider` in base units (one slot read).
    function stakeOf(address provider) external view returns (uint256);

    /// @notice Burns up to `amount` of the stake of `provider`; returns what was burnt.
    function slash(address provider, uint256 amount, string calldata reason) external returns (uint256 burnt);

    /// @notice Pays up to `amount` of `provider`'s stake to `to`; only the linked Marketplace.
    function seize(address provider, address to, uint256 amount) external returns (uint256 paid);
}
