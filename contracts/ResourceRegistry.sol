// SPDX-License-Identifier: MIT
pragma solidity 0.8.20;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ERC20Burnable} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Burnable.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {ShortString, ShortStrings} from "@openzeppelin/contracts/utils/ShortStrings.sol";
import {IResourceRegistry} from "./interfaces/IResourceRegistry.sol";
import {IReputationSystem} from "./interfaces/IReputationSystem.sol";
import {IMarketplace} from "./interfaces/IMarketplace.sol";

/// @title ResourceRegistry
/// @notice On-chain registry of GPU offers, their providers' agent endpoints and provider stake.
/// @dev Resource ids are `bytes32(uint256(uint160(provider)) << 96 | seq)`: the provider can be
/// read from the id without storage, and the Marketplace keeps only the 40-bit `seq` per job.
/// A provider must register (endpoint + stake >= minStake) before it registers resources; its
/// stake is withdrawable only after all its resources are retired, the cooldown has passed and
/// no job it took is still open (the linked Marketplace counts them), and holders of
/// SLASHER_ROLE (the ReputationSystem) can burn at most MAX_SLASH_BPS of it once per
/// SLASH_INTERVAL. The oracle's figures are bounded: uptime credits never exceed the time that
/// passed, and a resource's reputation can only mirror its provider's score.
/// Pausing stops registrations and new stake; retiring, unstaking and withdrawing always work.
contract ResourceRegistry is IResourceRegistry, AccessControl, Pausable, ReentrancyGuard {
    using SafeERC20 for IERC20;

    /// @notice Role of the oracle: reports uptime and per-resource reputation.
    bytes32 public constant ORACLE_ROLE = keccak256("ORACLE_ROLE");
    /// @notice Role allowed to burn provider stake (the deployment grants it to the ReputationSystem alone).
    bytes32 public constant SLASHER_ROLE = keccak256("SLASHER_ROLE");
    /// @notice Role allowed to pause and unpause registrations.
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");

    /// @notice Longest unstake cooldown governance may set.
    uint256 public constant MAX_UNSTAKE_COOLDOWN = 90 days;
    /// @notice Most of a provider's stake one slash may burn: 20%.
    uint256 public constant MAX_SLASH_BPS = 2000;
    /// @notice A provider's stake is slashed at most once per this interval.
    uint256 public constant SLASH_INTERVAL = 1 days;
    /// @notice Longest GPU model name, in bytes (it is stored as a ShortString).
    uint256 public constant MAX_GPU_MODEL_LENGTH = 31;
    /// @notice Longest endpoint URL, in bytes.
    uint256 public constant MAX_ENDPOINT_LENGTH = 256;
    /// @notice Highest price per hour, in base units (what the packed uint80 field holds).
    uint256 public constant MAX_PRICE_PER_HOUR = type(uint80).max;
    /// @notice Highest reputation a resource shows (the ReputationSystem's scale).
    uint256 public constant MAX_REPUTATION = 1000;

    /// @dev Storage layout of one resource (3 slots).
    struct ResourceData {
        // slot 0
        ShortString gpuModel; // model name, at most 31 bytes, packed with its length
        // slot 1 (232 bits): everything getJobTerms reads sits in this one slot
        uint80 pricePerHour; // base units per hour; 80 bits = 1.2M tokens/hour
        uint16 vcpu;
        uint32 memoryGB;
        uint32 storageGB;
        bool available;
        bool retired;
        uint16 reputation; // 0-1000
        uint40 registeredAt;
        // slot 2
        uint64 totalUptime; // seconds
        uint40 uptimeAt; // when uptime was last credited (registration before that)
    }

    /// @dev Storage layout of one provider: slot 0 packs the stake state, slot 1+ the endpoint.
    struct ProviderData {
        uint96 stake; // base units; GPUToken's cap keeps every amount below 2**96
        uint40 unlockAt; // 0 = no unstake pending
        uint32 activeResources;
        bool registered;
        uint40 lastSlashAt; // 0 = never slashed
        uint96 slashDebt; // slashed but not burnt yet (the stake backed early pay): burnt on withdrawal
        string endpoint;
    }

    IERC20 private immutable _token;

    /// @dev Slot: resource sequence (40) | minStake (96) | unstakeCooldown (32).
    uint40 private _resourceSeq; // 40 bits: the Marketplace stores it per job in 40 bits
    uint96 private _minStake;
    uint32 private _unstakeCooldown;

    mapping(bytes32 resourceId => ResourceData) private _resources;
    mapping(address provider => ProviderData) private _providers;
    mapping(address provider => bytes32[]) private _providerResources;
    /// @dev A provider's X25519 public key for secrets sealed to it (zero: none published).
    mapping(address provider => bytes32) private _encryptionKeys;
    /// @dev Slot: set once by governance ({setLinks}).
    IMarketplace private _marketplace;
    IReputationSystem private _reputation;

    /// @param token_ The GPUToken stakes are paid in (must be ERC20Burnable).
    /// @param admin Receives DEFAULT_ADMIN_ROLE (governance) and PAUSER_ROLE.
    /// @param minStake_ Stake a provider needs before it registers a resource.
    /// @param unstakeCooldown_ Seconds between an unstake request and the withdrawal.
    constructor(IERC20 token_, address admin, uint256 minStake_, uint256 unstakeCooldown_) {
        _token = token_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(PAUSER_ROLE, admin);
        _setMinStake(minStake_);
        _setUnstakeCooldown(unstakeCooldown_);
    }

    // ================================================================ providers

    /// @notice Registers the caller as a provider with its agent endpoint and an initial stake.
    /// @dev Requirements: not paused; not registered before; 0 < len(endpoint) <= 256; the
    /// caller approved `stakeAmount` to this contract (zero is allowed, stake can follow).
    /// Emits {ProviderRegistered} (and {Staked} when `stakeAmount` > 0).
    /// @param endpoint URL of the caller's provider agent, e.g. "http://10.0.0.5:8765".
    /// @param stakeAmount Base units to stake now.
    function registerProvider(string calldata endpoint, uint256 stakeAmount) external whenNotPaused nonReentrant {
        ProviderData storage p = _providers[msg.sender];
        if (p.registered) revert RegistryProviderAlreadyRegistered(msg.sender);
        _checkEndpoint(endpoint);
        p.registered = true;
        p.endpoint = endpoint;
        emit ProviderRegistered(msg.sender, endpoint, stakeAmount);
        if (stakeAmount > 0) _stake(p, stakeAmount);
    }

    /// @notice Changes the caller's agent endpoint.
    /// @dev Requirements: the caller is registered; 0 < len(endpoint) <= 256. Works while paused.
    /// Emits {EndpointUpdated}.
    /// @param endpoint The new URL.
    function updateEndpoint(string calldata endpoint) external {
        ProviderData storage p = _registered(msg.sender);
        _checkEndpoint(endpoint);
        p.endpoint = endpoint;
        emit EndpointUpdated(msg.sender, endpoint);
    }

    /// @notice Publishes (or rotates) the caller's X25519 public key, to which renters seal the
    /// secrets of their jobs (an access token, say) so that only the caller's agent can open
    /// them; zero withdraws it.
    /// @dev Only a registered provider may publish (the one that runs jobs: {registerProvider}
    /// made it one, as for {updateEndpoint}); a stake or a listed resource is not needed, so
    /// a provider sets its key before it lists a GPU. Works while paused: rotating a key away
    /// from a leaked one must never wait. The key is not checked beyond that (any 32 bytes is
    /// an X25519 point); a renter's client reads it from here, not from the provider's word.
    /// Requirements: the caller is registered. Emits {EncryptionKeySet}.
    /// @param key The 32-byte X25519 public key, or zero to clear it.
    function setEncryptionKey(bytes32 key) external {
        _registered(msg.sender);
        _encryptionKeys[msg.sender] = key;
        emit EncryptionKeySet(msg.sender, key);
    }

    /// @notice Adds `amount` to the caller's stake.
    /// @dev Requirements: not paused; the caller is registered and has no unstake pending;
    /// `amount` > 0 and approved. Emits {Staked}.
    /// @param amount Base units to add.
    function stake(uint256 amount) external whenNotPaused nonReentrant {
        ProviderData storage p = _registered(msg.sender);
        if (p.unlockAt != 0) revert RegistryUnstakePending(msg.sender, p.unlockAt);
        _stake(p, amount);
    }

    /// @notice Starts the cooldown after which the caller may withdraw its whole stake.
    /// @dev Requirements: every resource of the caller is retired; something is staked; no
    /// unstake is already pending. Works while paused. Emits {UnstakeRequested}.
    function requestUnstake() external {
        ProviderData storage p = _registered(msg.sender);
        if (p.activeResources != 0) revert RegistryActiveResources(msg.sender, p.activeResources);
        if (p.stake == 0) revert RegistryNothingStaked(msg.sender);
        if (p.unlockAt != 0) revert RegistryUnstakePending(msg.sender, p.unlockAt);
        uint40 unlockAt = uint40(block.timestamp + _unstakeCooldown);
        p.unlockAt = unlockAt;
        emit UnstakeRequested(msg.sender, unlockAt);
    }

    /// @notice Cancels the caller's pending unstake, so it can stake and register again.
    /// @dev Requirements: an unstake is pending. Emits {UnstakeCancelled}.
    function cancelUnstake() external {
        ProviderData storage p = _registered(msg.sender);
        if (p.unlockAt == 0) revert RegistryNoUnstakePending(msg.sender);
        p.unlockAt = 0;
        emit UnstakeCancelled(msg.sender);
    }

    /// @notice Withdraws the caller's whole stake once the cooldown has passed and no job it
    /// took is still open.
    /// @dev Requirements: an unstake is pending and its unlock time has come; the Marketplace
    /// counts no open job (Created, Accepted, Running or Disputed) of the caller. Works while
    /// paused. Emits {StakeWithdrawn}.
    function withdrawStake() external nonReentrant {
        ProviderData storage p = _registered(msg.sender);
        uint256 unlockAt = p.unlockAt;
        if (unlockAt == 0) revert RegistryNoUnstakePending(msg.sender);
        if (block.timestamp < unlockAt) revert RegistryStakeLocked(msg.sender, unlockAt);
        uint256 open = _openJobs(msg.sender);
        if (open != 0) revert RegistryOpenJobs(msg.sender, open);
        uint256 debt = p.slashDebt; // <= stake, kept so by slash and seize
        uint256 amount = p.stake - debt;
        p.stake = 0;
        p.unlockAt = 0;
        p.slashDebt = 0;
        if (debt > 0) emit Slashed(msg.sender, debt, amount, "deferred slash");
        emit StakeWithdrawn(msg.sender, amount);
        if (debt > 0) ERC20Burnable(address(_token)).burn(debt);
        _token.safeTransfer(msg.sender, amount);
    }

    /// @notice Burns up to `amount` of the stake of `provider`, at most MAX_SLASH_BPS of it,
    /// and nothing if it was slashed less than SLASH_INTERVAL ago (a compromised slasher burns
    /// at most 20% of a stake a day). The part of the stake that backs pay released early on
    /// open jobs (the Marketplace's `releasedOpen`) is not burnt now, since renters' clawbacks
    /// come first: it is owed ({SlashDeferred}) and burnt when the stake leaves, so backing early
    /// pay (even by renting one's own GPU) never escapes a slash.
    /// @dev Requirements: the caller holds SLASHER_ROLE. Works while paused and during a
    /// pending unstake (that is what the cooldown is for). Emits {Slashed} when it burns.
    /// @param provider The provider to slash.
    /// @param amount Base units to burn at most.
    /// @param reason Why, for the record ("data fraud").
    /// @return burnt The base units actually burnt.
    function slash(address provider, uint256 amount, string calldata reason)
        external
        onlyRole(SLASHER_ROLE)
        nonReentrant
        returns (uint256 burnt)
    {
        ProviderData storage p = _registered(provider);
        uint96 current = p.stake;
        uint256 last = p.lastSlashAt;
        if (last != 0 && block.timestamp < last + SLASH_INTERVAL) return 0;
        uint256 cap = (uint256(current) * MAX_SLASH_BPS) / 10_000;
        uint256 due = amount < cap ? amount : cap;
        // slither-disable-next-line incorrect-equality (a computed amount, not a balance)
        if (due == 0) return 0;
        uint256 debt = p.slashDebt;
        uint256 held = uint256(_marketplace.providerStats(provider).releasedOpen) + debt;
        uint256 free = current > held ? current - held : 0;
        burnt = due < free ? due : free;
        uint256 owed = due - burnt;
        p.lastSlashAt = uint40(block.timestamp);
        // cannot underflow: burnt <= free <= current; debt + owed <= current - burnt, since
        // owed <= due <= cap and held covers the rest
        unchecked {
            p.stake = current - uint96(burnt);
            if (owed > 0) {
                debt += owed;
                if (debt > p.stake) debt = p.stake;
                p.slashDebt = uint96(debt);
            }
        }
        if (owed > 0) emit SlashDeferred(provider, owed, debt, reason);
        if (burnt > 0) {
            emit Slashed(provider, burnt, p.stake, reason);
            ERC20Burnable(address(_token)).burn(burnt);
        }
    }

    /// @notice Pays up to `amount` of `provider`'s stake to `to` (all of it if it holds less):
    /// a ProviderFault ruling taking back what the provider was already paid for the job.
    /// @dev Requirements: the caller is the linked Marketplace. Works while paused and during
    /// a pending unstake. Emits {StakeSeized} when it pays.
    /// @param provider The provider at fault.
    /// @param to The renter it is paid to.
    /// @param amount Base units at most.
    /// @return paid The base units actually paid.
    function seize(address provider, address to, uint256 amount) external nonReentrant returns (uint256 paid) {
        if (msg.sender != address(_marketplace)) revert RegistryNotMarketplace(msg.sender);
        ProviderData storage p = _providers[provider];
        uint96 current = p.stake;
        paid = amount < current ? amount : current;
        // slither-disable-next-line incorrect-equality (a computed amount, not a balance)
        if (paid == 0) return 0;
        // cannot underflow: paid <= current
        unchecked {
            p.stake = current - uint96(paid);
        }
        if (p.slashDebt > p.stake) p.slashDebt = p.stake; // renters come before a deferred burn
        emit StakeSeized(provider, to, paid, p.stake);
        _token.safeTransfer(to, paid);
    }

    // ================================================================ resources

    /// @notice Registers a GPU offer of the caller (SPEC: registerResource).
    /// @dev Requirements: not paused; the caller is registered, has no unstake pending and holds
    /// at least the minimum stake; 1 <= len(gpuModel) <= 31, every byte printable ASCII
    /// (0x20 to 0x7E: no control characters, no escape sequences, no UTF-8); vcpu > 0; memoryGB > 0;
    /// 0 < pricePerHour < 2**80. The resource starts available.
    /// Emits {ResourceRegistered}.
    /// @param gpuModel GPU model, e.g. "RTX4090".
    /// @param vcpu vCPUs that come with the GPU.
    /// @param memoryGB Host memory in GiB.
    /// @param storageGB Scratch storage in GiB.
    /// @param pricePerHour Base units of GPUToken per hour.
    /// @return resourceId The new resource's id.
    function registerResource(
        string calldata gpuModel,
        uint16 vcpu,
        uint32 memoryGB,
        uint32 storageGB,
        uint256 pricePerHour
    ) external whenNotPaused returns (bytes32 resourceId) {
        ProviderData storage p = _registered(msg.sender);
        if (p.unlockAt != 0) revert RegistryUnstakePending(msg.sender, p.unlockAt);
        uint256 minStake_ = _minStake;
        uint256 effective = uint256(p.stake) - p.slashDebt;
        if (effective < minStake_) revert RegistryInsufficientStake(msg.sender, effective, minStake_);
        uint256 modelLength = bytes(gpuModel).length;
        if (modelLength == 0 || modelLength > MAX_GPU_MODEL_LENGTH) {
            revert RegistryInvalidGpuModel(modelLength, MAX_GPU_MODEL_LENGTH);
        }
        _checkPrintable(bytes32(bytes(gpuModel)), modelLength);
        if (vcpu == 0 || memoryGB == 0) revert RegistryInvalidSpec(vcpu, memoryGB);
        _checkPrice(pricePerHour);

        uint40 seq = ++_resourceSeq;
        resourceId = bytes32((uint256(uint160(msg.sender)) << 96) | seq);
        _resources[resourceId] = ResourceData({
            gpuModel: ShortStrings.toShortString(gpuModel),
            pricePerHour: uint80(pricePerHour),
            vcpu: vcpu,
            memoryGB: memoryGB,
            storageGB: storageGB,
            available: true,
            retired: false,
            reputation: 0,
            registeredAt: uint40(block.timestamp),
            totalUptime: 0,
            uptimeAt: uint40(block.timestamp)
        });
        _providerResources[msg.sender].push(resourceId);
        // cannot overflow: one increment per registered resource, far below 2**32
        unchecked {
            p.activeResources += 1;
        }
        emit ResourceRegistered(resourceId, msg.sender, gpuModel, vcpu, memoryGB, storageGB, pricePerHour);
    }

    /// @dev Reverts with {RegistryInvalidGpuModelByte} unless each of the first `length` bytes
    /// of `word` (a GPU model, left-aligned, 1 <= length <= 31) is printable ASCII, 0x20 to 0x7E.
    /// All bytes are tested at once (SWAR) in a few dozen gas; the loop that names the first bad
    /// byte runs only on the way to the revert.
    function _checkPrintable(bytes32 word, uint256 length) private pure {
        uint256 x = uint256(word);
        // the model's bytes are the high `length` bytes; the rest of the word is zero padding
        uint256 mask = ~(type(uint256).max >> (8 * length));
        uint256 high = 0x8080808080808080808080808080808080808080808080808080808080808080 & mask;
        // Per byte b: b >= 0x80 sets its high bit; b < 0x20 leaves b + 0x60 below 0x80; b == 0x7F
        // gives b + 0x01 == 0x80. No sum carries into the next byte when b < 0x80 (0x7F + 0x60 <
        // 0x100), and a byte >= 0x80 is caught by the first test whatever its neighbours carry.
        bool bad;
        // unchecked: the sums may wrap past 2**256 only when the top byte is >= 0x80, which the
        // first test already refuses
        unchecked {
            bad = (x & high) != 0
                || ((x + 0x6060606060606060606060606060606060606060606060606060606060606060) & high) != high
                || ((x + 0x0101010101010101010101010101010101010101010101010101010101010101) & high) != 0;
        }
        if (!bad) return;
        for (uint256 i = 0; i < length; ++i) {
            uint8 b = uint8(word[i]);
            if (b < 0x20 || b > 0x7E) revert RegistryInvalidGpuModelByte(i, b);
        }
    }

    /// @notice Marks a resource of the caller available or unavailable for new jobs.
    /// @dev Requirements: the caller is the resource's provider; not retired. Works while
    /// paused (a provider may always stop taking work). Emits {AvailabilityUpdated}.
    /// @param resourceId The resource.
    /// @param available Whether new jobs may be created on it.
    function updateAvailability(bytes32 resourceId, bool available) external {
        ResourceData storage r = _ownedActive(resourceId);
        r.available = available;
        emit AvailabilityUpdated(resourceId, available);
    }

    /// @notice Changes the hourly price of a resource of the caller; open jobs keep theirs.
    /// @dev Requirements: the caller is the resource's provider; not retired;
    /// 0 < newPrice < 2**80. Emits {PricingUpdated}.
    /// @param resourceId The resource.
    /// @param newPrice Base units per hour.
    function updatePricing(bytes32 resourceId, uint256 newPrice) external {
        ResourceData storage r = _ownedActive(resourceId);
        _checkPrice(newPrice);
        r.pricePerHour = uint80(newPrice);
        emit PricingUpdated(resourceId, newPrice);
    }

    /// @notice Retires a resource of the caller for good: no new jobs, no further changes.
    /// @dev Jobs already created on it still run and settle. Requirements: the caller is the
    /// resource's provider; not retired already. Emits {AvailabilityUpdated} and {ResourceRetired}.
    /// @param resourceId The resource.
    function retireResource(bytes32 resourceId) external {
        ResourceData storage r = _ownedActive(resourceId);
        r.retired = true;
        r.available = false;
        // cannot underflow: each active resource was counted once at registration
        unchecked {
            _providers[msg.sender].activeResources -= 1;
        }
        emit AvailabilityUpdated(resourceId, false);
        emit ResourceRetired(resourceId, msg.sender);
    }

    /// @notice Credits `additionalSeconds` of measured uptime to a resource.
    /// @dev Physical bound: no more than the seconds since the previous credit (or the
    /// registration), so the total never exceeds the resource's age. Requirements: the caller
    /// holds ORACLE_ROLE; the resource exists; additionalSeconds <= now - last credit.
    /// Emits {UptimeUpdated}.
    /// @param resourceId The resource.
    /// @param additionalSeconds Seconds of uptime observed since the last report.
    function updateUptime(bytes32 resourceId, uint64 additionalSeconds) external onlyRole(ORACLE_ROLE) {
        ResourceData storage r = _existing(resourceId);
        uint256 elapsed = block.timestamp - r.uptimeAt;
        if (additionalSeconds > elapsed) revert RegistryUptimeTooLarge(resourceId, additionalSeconds, elapsed);
        // cannot overflow: the total is at most the resource's age in seconds
        uint64 total;
        unchecked {
            total = r.totalUptime + additionalSeconds;
        }
        r.totalUptime = total;
        r.uptimeAt = uint40(block.timestamp);
        emit UptimeUpdated(resourceId, additionalSeconds, total);
    }

    /// @notice Sets the reputation shown for a resource: it can only mirror its provider's
    /// current score in the ReputationSystem.
    /// @dev Requirements: the caller holds ORACLE_ROLE; the resource exists; the links are
    /// set; `newReputation` equals the provider's score. Emits {ResourceReputationUpdated}.
    /// @param resourceId The resource.
    /// @param newReputation The reputation, 0-1000.
    function updateReputation(bytes32 resourceId, uint16 newReputation) external onlyRole(ORACLE_ROLE) {
        if (newReputation > MAX_REPUTATION) revert RegistryInvalidReputation(newReputation, MAX_REPUTATION);
        ResourceData storage r = _existing(resourceId);
        IReputationSystem reputation = _reputation;
        if (address(reputation) == address(0)) revert RegistryLinksNotSet();
        uint256 score = reputation.getScore(providerOf(resourceId));
        if (score != newReputation) revert RegistryReputationMismatch(resourceId, newReputation, score);
        r.reputation = newReputation;
        emit ResourceReputationUpdated(resourceId, newReputation);
    }

    // ================================================================ governance

    /// @notice Sets the stake a provider needs to register resources.
    /// @dev Requirements: DEFAULT_ADMIN_ROLE; fits 96 bits. Emits {MinStakeUpdated}.
    /// @param minStake_ Base units.
    function setMinStake(uint256 minStake_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setMinStake(minStake_);
    }

    /// @notice Sets the unstake cooldown.
    /// @dev Requirements: DEFAULT_ADMIN_ROLE; at most MAX_UNSTAKE_COOLDOWN. Pending unstakes
    /// keep the unlock time they were given. Emits {UnstakeCooldownUpdated}.
    /// @param cooldown Seconds.
    function setUnstakeCooldown(uint256 cooldown) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setUnstakeCooldown(cooldown);
    }

    /// @notice Links the Marketplace (whose open jobs lock stake and which may seize stake on a
    /// ProviderFault ruling) and the ReputationSystem (whose scores resources mirror); once.
    /// @dev Requirements: DEFAULT_ADMIN_ROLE; not linked before; both non-zero. Emits {LinksSet}.
    /// @param marketplace_ The Marketplace.
    /// @param reputation_ The ReputationSystem.
    function setLinks(IMarketplace marketplace_, IReputationSystem reputation_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (address(_marketplace) != address(0)) revert RegistryLinksSet(address(_marketplace), address(_reputation));
        if (address(marketplace_) == address(0) || address(reputation_) == address(0)) {
            revert RegistryInvalidLinks(address(marketplace_), address(reputation_));
        }
        _marketplace = marketplace_;
        _reputation = reputation_;
        emit LinksSet(address(marketplace_), address(reputation_));
    }

    /// @notice Stops provider registrations, new stake and new resources.
    /// @dev Requirements: PAUSER_ROLE. Emits {Paused}.
    function pause() external onlyRole(PAUSER_ROLE) {
        _pause();
    }

    /// @notice Lifts a pause.
    /// @dev Requirements: PAUSER_ROLE. Emits {Unpaused}.
    function unpause() external onlyRole(PAUSER_ROLE) {
        _unpause();
    }

    // ================================================================ views

    /// @inheritdoc IResourceRegistry
    function getJobTerms(bytes32 resourceId) external view returns (address provider, uint256 pricePerHour) {
        ResourceData storage r = _existing(resourceId);
        if (r.retired) revert RegistryResourceRetired(resourceId);
        if (!r.available) revert RegistryResourceUnavailable(resourceId);
        provider = providerOf(resourceId);
        ProviderData storage p = _providers[provider];
        uint256 stake_ = uint256(p.stake) - p.slashDebt; // what a slash has not claimed
        uint256 minStake_ = _minStake;
        if (stake_ < minStake_) revert RegistryInsufficientStake(provider, stake_, minStake_);
        pricePerHour = r.pricePerHour;
    }

    /// @notice A resource (SPEC: getResource).
    /// @param resourceId The resource.
    function getResource(bytes32 resourceId) external view returns (GPUResource memory) {
        ResourceData storage r = _existing(resourceId);
        return GPUResource({
            resourceId: resourceId,
            provider: providerOf(resourceId),
            gpuModel: ShortStrings.toString(r.gpuModel),
            vcpu: r.vcpu,
            memoryGB: r.memoryGB,
            storageGB: r.storageGB,
            pricePerHour: r.pricePerHour,
            available: r.available,
            retired: r.retired,
            totalUptime: r.totalUptime,
            reputation: r.reputation,
            registeredAt: r.registeredAt
        });
    }

    /// @inheritdoc IResourceRegistry
    function stakeOf(address provider) external view returns (uint256) {
        return _providers[provider].stake;
    }

    /// @notice The X25519 public key `provider` published for secrets (zero if none).
    /// @param provider The provider.
    function encryptionKeyOf(address provider) external view returns (bytes32) {
        return _encryptionKeys[provider];
    }

    /// @notice Every resource `provider` ever registered, retired ones included.
    /// @param provider The provider.
    function getProviderResources(address provider) external view returns (bytes32[] memory) {
        return _providerResources[provider];
    }

    /// @notice A provider's registration, endpoint and stake.
    /// @param provider The provider.
    function getProvider(address provider) external view returns (ProviderInfo memory) {
        ProviderData storage p = _providers[provider];
        return ProviderInfo({
            registered: p.registered,
            endpoint: p.endpoint,
            stake: p.stake,
            unlockAt: p.unlockAt,
            activeResources: p.activeResources,
            slashDebt: p.slashDebt
        });
    }

    /// @notice Number of resources registered so far (all providers).
    function resourceCount() external view returns (uint256) {
        return _resourceSeq;
    }

    /// @notice Stake needed to register resources and to take new jobs.
    function minStake() external view returns (uint256) {
        return _minStake;
    }

    /// @notice Seconds between an unstake request and the withdrawal.
    function unstakeCooldown() external view returns (uint256) {
        return _unstakeCooldown;
    }

    /// @notice The linked Marketplace and ReputationSystem (zero until {setLinks}).
    function links() external view returns (address marketplace, address reputation) {
        return (address(_marketplace), address(_reputation));
    }

    /// @notice The token stakes are held in.
    function token() external view returns (IERC20) {
        return _token;
    }

    /// @notice The provider encoded in `resourceId` (its upper 160 bits).
    /// @param resourceId Any resource id.
    function providerOf(bytes32 resourceId) public pure returns (address) {
        return address(uint160(uint256(resourceId) >> 96));
    }

    // ================================================================ internals

    function _stake(ProviderData storage p, uint256 amount) private {
        if (amount == 0 || amount > type(uint96).max) revert RegistryInvalidAmount(amount);
        uint96 total = p.stake + uint96(amount);
        p.stake = total;
        emit Staked(msg.sender, amount, total);
        _token.safeTransferFrom(msg.sender, address(this), amount);
    }

    function _openJobs(address provider) private view returns (uint256) {
        IMarketplace marketplace = _marketplace;
        if (address(marketplace) == address(0)) revert RegistryLinksNotSet();
        return marketplace.providerStats(provider).openJobs;
    }

    function _registered(address provider) private view returns (ProviderData storage p) {
        p = _providers[provider];
        if (!p.registered) revert RegistryProviderNotRegistered(provider);
    }

    function _existing(bytes32 resourceId) private view returns (ResourceData storage r) {
        r = _resources[resourceId];
        if (r.registeredAt == 0) revert RegistryUnknownResource(resourceId);
    }

    function _ownedActive(bytes32 resourceId) private view returns (ResourceData storage r) {
        r = _existing(resourceId);
        if (providerOf(resourceId) != msg.sender) revert RegistryNotResourceProvider(resourceId, msg.sender);
        if (r.retired) revert RegistryResourceRetired(resourceId);
    }

    function _checkEndpoint(string calldata endpoint) private pure {
        uint256 length = bytes(endpoint).length;
        if (length == 0 || length > MAX_ENDPOINT_LENGTH) revert RegistryInvalidEndpoint(length, MAX_ENDPOINT_LENGTH);
    }

    function _checkPrice(uint256 price) private pure {
        if (price == 0 || price > MAX_PRICE_PER_HOUR) revert RegistryInvalidPrice(price, MAX_PRICE_PER_HOUR);
    }

    function _setMinStake(uint256 minStake_) private {
        if (minStake_ > type(uint96).max) revert RegistryInvalidParameter("minStake", minStake_, 0, type(uint96).max);
        _minStake = uint96(minStake_);
        emit MinStakeUpdated(minStake_);
    }

    function _setUnstakeCooldown(uint256 cooldown) private {
        if (cooldown > MAX_UNSTAKE_COOLDOWN) {
            revert RegistryInvalidParameter("unstakeCooldown", cooldown, 0, MAX_UNSTAKE_COOLDOWN);
        }
        _unstakeCooldown = uint32(cooldown);
        emit UnstakeCooldownUpdated(cooldown);
    }
}
