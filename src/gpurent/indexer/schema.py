"""The indexer's tables (SQLAlchemy Core), the same on SQLite and PostgreSQL.

Token amounts are kept exactly as decimal strings (``*_tokens``) and, for filtering and
sorting, as whole micro-tokens in a BIGINT (``*_micro``): SQLite has no exact decimal type,
and 10 tokens in base units (10**19) is already past a 64-bit integer.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

# -- bookkeeping ---------------------------------------------------------------------------
cursor = Table(
    "cursor", metadata,
    Column("id", Integer, primary_key=True),  # one row: id = 1
    Column("block_number", BigInteger, nullable=False),  # last block applied
    Column("block_hash", String(66), nullable=False),
    Column("chain_id", BigInteger, nullable=False),
    Column("deployment_block", BigInteger, nullable=False),
)
blocks = Table(  # the recent blocks applied (the reorg window)
    "blocks", metadata,
    Column("number", BigInteger, primary_key=True),
    Column("hash", String(66), nullable=False),
    Column("timestamp", BigInteger, nullable=False),
)
events = Table(  # every event applied, raw (the audit trail and the exactly-once key)
    "events", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("block_number", BigInteger, nullable=False),
    Column("log_index", Integer, nullable=False),
    Column("tx_hash", String(66), nullable=False),
    Column("block_hash", String(66), nullable=False),
    Column("contract", String(32), nullable=False),
    Column("name", String(64), nullable=False),
    Column("args", Text, nullable=False),  # JSON
    UniqueConstraint("tx_hash", "log_index", name="events_tx_log"),
)
Index("events_block", events.c.block_number)
undo = Table(  # before-images of rows changed in the reorg window, to roll blocks back
    "undo", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("block_number", BigInteger, nullable=False),
    Column("table_name", String(64), nullable=False),
    Column("row_key", Text, nullable=False),  # JSON of the primary key
    Column("before", Text),  # JSON of the row before; NULL: the row did not exist
)
Index("undo_block", undo.c.block_number)

# -- the SPEC's tables, and what renters and operators query --------------------------------
gpu_resources = Table(
    "gpu_resources", metadata,
    Column("id", String(66), primary_key=True),
    Column("provider_address", String(42), nullable=False),
    Column("gpu_model", String(32), nullable=False),
    Column("vcpu", Integer, nullable=False),
    Column("memory_gb", Integer, nullable=False),
    Column("storage_gb", Integer, nullable=False),
    Column("price_per_hour_tokens", String(80), nullable=False),
    Column("price_per_hour_micro", BigInteger, nullable=False),
    Column("availability", Boolean, nullable=False),
    Column("retired", Boolean, nullable=False),
    Column("reputation_score", Integer, nullable=False),
    Column("total_uptime", BigInteger, nullable=False),
    Column("registered_block", BigInteger, nullable=False),
    Column("updated_block", BigInteger, nullable=False),
)
# offered GPUs in price order: a filtered page walks this index and stops after its rows
Index("gpu_by_price", gpu_resources.c.availability, gpu_resources.c.retired, gpu_resources.c.price_per_hour_micro,
      gpu_resources.c.id)
Index("gpu_provider", gpu_resources.c.provider_address)

providers = Table(
    "providers", metadata,
    Column("address", String(42), primary_key=True),
    Column("endpoint", String(256), nullable=False),
    Column("stake_tokens", String(80), nullable=False),
    Column("registered_block", BigInteger, nullable=False),
    Column("score", Integer),  # last known reputation score (from ReputationUpdated)
    Column("uptime_bps", Integer),
    Column("response_bps", Integer),
    Column("penalty_points", BigInteger, nullable=False),
    Column("reports", Integer, nullable=False),
    Column("updated_block", BigInteger, nullable=False),
)
reputation_history = Table(
    "reputation_history", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("provider_address", String(42), nullable=False),
    Column("block_number", BigInteger, nullable=False),
    Column("log_index", Integer, nullable=False),
    Column("kind", String(32), nullable=False),  # report, penalty, reward, score, slash, stake
    Column("detail", Text, nullable=False),  # JSON
)
Index("reputation_history_provider", reputation_history.c.provider_address, reputation_history.c.block_number)

instance_history = Table(  # the SPEC's name for jobs
    "instance_history", metadata,
    Column("id", String(66), primary_key=True),  # the job id
    Column("instance_id", BigInteger, nullable=False),  # the renter's sequence number in the id
    Column("user_address", String(42), nullable=False),
    Column("provider_address", String(42), nullable=False),
    Column("resource_id", String(66), nullable=False),
    Column("image_cid", String(128), nullable=False),
    Column("status", String(16), nullable=False),
    Column("price_per_hour_tokens", String(80), nullable=False),
    Column("estimated_duration", BigInteger, nullable=False),
    Column("max_cost_tokens", String(80), nullable=False),
    Column("start_time", BigInteger),
    Column("end_time", BigInteger),
    Column("total_cost_tokens", String(80)),
    Column("created_block", BigInteger, nullable=False),
    Column("updated_block", BigInteger, nullable=False),
)
Index("jobs_user", instance_history.c.user_address)
Index("jobs_provider", instance_history.c.provider_address)
Index("jobs_status", instance_history.c.status)

job_status_history = Table(
    "job_status_history", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job_id", String(66), nullable=False),
    Column("status", String(16), nullable=False),
    Column("block_number", BigInteger, nullable=False),
    Column("log_index", Integer, nullable=False),
    Column("timestamp", BigInteger, nullable=False),
)
Index("job_status_job", job_status_history.c.job_id)

images = Table(
    "images", metadata,
    Column("cid", String(128), primary_key=True),
    Column("name", String(256)),  # from the image's IPFS metadata, when known
    Column("size", BigInteger),
    Column("uploader", String(42)),
    Column("download_count", BigInteger, nullable=False),  # jobs created with it
    Column("created_at", BigInteger, nullable=False),  # first job's block timestamp
)
disputes = Table(
    "disputes", metadata,
    Column("job_id", String(66), primary_key=True),
    Column("initiator", String(42), nullable=False),
    Column("reason", Text, nullable=False),
    Column("raised_block", BigInteger, nullable=False),
    Column("outcome", String(16)),
    Column("final_cost_tokens", String(80)),
    Column("resolver", String(42)),
    Column("evidence_cid", String(128)),
    Column("resolved_block", BigInteger),
)

# Tables rebuilt from events (rolled back through `undo` on a reorg).
DERIVED = (gpu_resources, providers, reputation_history, instance_history, job_status_history, images, disputes)
