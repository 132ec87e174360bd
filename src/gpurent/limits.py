"""The contracts' bounds, named once on the Python side.

Each value mirrors a public constant of the contract named in ``ON_CHAIN`` (same name), and a
test reads every one of them from the deployed contracts. A check the SDK makes before sending
reads its bound from here; a revert's message never needs one: the contract's error carries it.
"""

from __future__ import annotations

DAY = 86_400

BPS = 10_000  # the whole of a rate or a share, in basis points

# Marketplace
MAX_DURATION = 90 * DAY  # longest estimated duration of one job, in seconds
MAX_TIMEOUT = 30 * DAY  # longest any of its deadlines may be set to, in seconds
MAX_CID_LENGTH = 128  # longest image CID, in bytes
MAX_REASON_LENGTH = 1024  # longest dispute reason, in bytes
MAX_BOND_BPS = 5_000  # highest dispute bond, a share of the job's maxCost
MAX_FEE_BPS = 1_000  # highest platform fee

# ResourceRegistry
MAX_GPU_MODEL_LENGTH = 31  # longest GPU model name, in bytes
MAX_ENDPOINT_LENGTH = 256  # longest endpoint URL, in bytes
MAX_PRICE_PER_HOUR = 2**80 - 1  # highest price per hour, in base units
MAX_REPUTATION = 1_000  # highest reputation a resource shows
MAX_UNSTAKE_COOLDOWN = 90 * DAY  # longest unstake cooldown, in seconds
MAX_SLASH_BPS = 2_000  # most of a stake one slash may burn

# ReputationSystem
MAX_SCORE = 1_000  # highest reputation score
MAX_PERIOD_LENGTH = 30 * DAY  # longest report period, in seconds
MAX_PENALTY_POINTS = 1_000  # most points one penalty reason may cost
MAX_FRAUD_SLASH_BPS = 2_000  # highest share of stake a data-fraud penalty may burn
MAX_PENALTY_POINTS_PER_PERIOD = 200  # most penalty points one provider can be given per period
MAX_REWARD_POINTS_PER_PERIOD = 10  # most reward points one provider can be given per period
UNMEASURED_BPS = 5_000  # uptime and response of a provider not measured yet (what its score counts)

# constant name -> the contract (its manifest name) whose public constant it mirrors
ON_CHAIN: dict[str, str] = {
    "MAX_DURATION": "Marketplace",
    "MAX_TIMEOUT": "Marketplace",
    "MAX_CID_LENGTH": "Marketplace",
    "MAX_REASON_LENGTH": "Marketplace",
    "MAX_BOND_BPS": "Marketplace",
    "MAX_FEE_BPS": "Marketplace",
    "MAX_GPU_MODEL_LENGTH": "ResourceRegistry",
    "MAX_ENDPOINT_LENGTH": "ResourceRegistry",
    "MAX_PRICE_PER_HOUR": "ResourceRegistry",
    "MAX_REPUTATION": "ResourceRegistry",
    "MAX_UNSTAKE_COOLDOWN": "ResourceRegistry",
    "MAX_SLASH_BPS": "ResourceRegistry",
    "MAX_SCORE": "ReputationSystem",
    "MAX_PERIOD_LENGTH": "ReputationSystem",
    "MAX_PENALTY_POINTS": "ReputationSystem",
    "MAX_FRAUD_SLASH_BPS": "ReputationSystem",
    "MAX_PENALTY_POINTS_PER_PERIOD": "ReputationSystem",
    "MAX_REWARD_POINTS_PER_PERIOD": "ReputationSystem",
    "UNMEASURED_BPS": "ReputationSystem",
}
