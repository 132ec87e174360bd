"""initial schema: events, cursor, reorg window, the SPEC's tables

Revision ID: 0001
Revises: 
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('blocks',
    sa.Column('number', sa.BigInteger(), nullable=False),
    sa.Column('hash', sa.String(length=66), nullable=False),
    sa.Column('timestamp', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('number')
    )
    op.create_table('cursor',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('block_number', sa.BigInteger(), nullable=False),
    sa.Column('block_hash', sa.String(length=66), nullable=False),
    sa.Column('chain_id', sa.BigInteger(), nullable=False),
    sa.Column('deployment_block', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('disputes',
    sa.Column('job_id', sa.String(length=66), nullable=False),
    sa.Column('initiator', sa.String(length=42), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('raised_block', sa.BigInteger(), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=True),
    sa.Column('final_cost_tokens', sa.String(length=80), nullable=True),
    sa.Column('resolver', sa.String(length=42), nullable=True),
    sa.Column('evidence_cid', sa.String(length=128), nullable=True),
    sa.Column('resolved_block', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('job_id')
    )
    op.create_table('events',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('block_number', sa.BigInteger(), nullable=False),
    sa.Column('log_index', sa.Integer(), nullable=False),
    sa.Column('tx_hash', sa.String(length=66), nullable=False),
    sa.Column('block_hash', sa.String(length=66), nullable=False),
    sa.Column('contract', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('args', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tx_hash', 'log_index', name='events_tx_log')
    )
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index('events_block', ['block_number'], unique=False)

    op.create_table('gpu_resources',
    sa.Column('id', sa.String(length=66), nullable=False),
    sa.Column('provider_address', sa.String(length=42), nullable=False),
    sa.Column('gpu_model', sa.String(length=32), nullable=False),
    sa.Column('vcpu', sa.Integer(), nullable=False),
    sa.Column('memory_gb', sa.Integer(), nullable=False),
    sa.Column('storage_gb', sa.Integer(), nullable=False),
    sa.Column('price_per_hour_tokens', sa.String(length=80), nullable=False),
    sa.Column('price_per_hour_micro', sa.BigInteger(), nullable=False),
    sa.Column('availability', sa.Boolean(), nullable=False),
    sa.Column('retired', sa.Boolean(), nullable=False),
    sa.Column('reputation_score', sa.Integer(), nullable=False),
    sa.Column('total_uptime', sa.BigInteger(), nullable=False),
    sa.Column('registered_block', sa.BigInteger(), nullable=False),
    sa.Column('updated_block', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('gpu_resources', schema=None) as batch_op:
        batch_op.create_index('gpu_by_price', ['availability', 'retired', 'price_per_hour_micro', 'id'], unique=False)
        batch_op.create_index('gpu_provider', ['provider_address'], unique=False)

    op.create_table('images',
    sa.Column('cid', sa.String(length=128), nullable=False),
    sa.Column('name', sa.String(length=256), nullable=True),
    sa.Column('size', sa.BigInteger(), nullable=True),
    sa.Column('uploader', sa.String(length=42), nullable=True),
    sa.Column('download_count', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('cid')
    )
    op.create_table('instance_history',
    sa.Column('id', sa.String(length=66), nullable=False),
    sa.Column('instance_id', sa.BigInteger(), nullable=False),
    sa.Column('user_address', sa.String(length=42), nullable=False),
    sa.Column('provider_address', sa.String(length=42), nullable=False),
    sa.Column('resource_id', sa.String(length=66), nullable=False),
    sa.Column('image_cid', sa.String(length=128), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('price_per_hour_tokens', sa.String(length=80), nullable=False),
    sa.Column('estimated_duration', sa.BigInteger(), nullable=False),
    sa.Column('max_cost_tokens', sa.String(length=80), nullable=False),
    sa.Column('start_time', sa.BigInteger(), nullable=True),
    sa.Column('end_time', sa.BigInteger(), nullable=True),
    sa.Column('total_cost_tokens', sa.String(length=80), nullable=True),
    sa.Column('created_block', sa.BigInteger(), nullable=False),
    sa.Column('updated_block', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('instance_history', schema=None) as batch_op:
        batch_op.create_index('jobs_provider', ['provider_address'], unique=False)
        batch_op.create_index('jobs_status', ['status'], unique=False)
        batch_op.create_index('jobs_user', ['user_address'], unique=False)

    op.create_table('job_status_history',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('job_id', sa.String(length=66), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('block_number', sa.BigInteger(), nullable=False),
    sa.Column('log_index', sa.Integer(), nullable=False),
    sa.Column('timestamp', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('job_status_history', schema=None) as batch_op:
        batch_op.create_index('job_status_job', ['job_id'], unique=False)

    op.create_table('providers',
    sa.Column('address', sa.String(length=42), nullable=False),
    sa.Column('endpoint', sa.String(length=256), nullable=False),
    sa.Column('stake_tokens', sa.String(length=80), nullable=False),
    sa.Column('registered_block', sa.BigInteger(), nullable=False),
    sa.Column('score', sa.Integer(), nullable=True),
    sa.Column('uptime_bps', sa.Integer(), nullable=True),
    sa.Column('response_bps', sa.Integer(), nullable=True),
    sa.Column('penalty_points', sa.BigInteger(), nullable=False),
    sa.Column('reports', sa.Integer(), nullable=False),
    sa.Column('updated_block', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('address')
    )
    op.create_table('reputation_history',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('provider_address', sa.String(length=42), nullable=False),
    sa.Column('block_number', sa.BigInteger(), nullable=False),
    sa.Column('log_index', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('reputation_history', schema=None) as batch_op:
        batch_op.create_index('reputation_history_provider', ['provider_address', 'block_number'], unique=False)

    op.create_table('undo',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('block_number', sa.BigInteger(), nullable=False),
    sa.Column('table_name', sa.String(length=64), nullable=False),
    sa.Column('row_key', sa.Text(), nullable=False),
    sa.Column('before', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('undo', schema=None) as batch_op:
        batch_op.create_index('undo_block', ['block_number'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('undo', schema=None) as batch_op:
        batch_op.drop_index('undo_block')

    op.drop_table('undo')
    with op.batch_alter_table('reputation_history', schema=None) as batch_op:
        batch_op.drop_index('reputation_history_provider')

    op.drop_table('reputation_history')
    op.drop_table('providers')
    with op.batch_alter_table('job_status_history', schema=None) as batch_op:
        batch_op.drop_index('job_status_job')

    op.drop_table('job_status_history')
    with op.batch_alter_table('instance_history', schema=None) as batch_op:
        batch_op.drop_index('jobs_user')
        batch_op.drop_index('jobs_status')
        batch_op.drop_index('jobs_provider')

    op.drop_table('instance_history')
    op.drop_table('images')
    with op.batch_alter_table('gpu_resources', schema=None) as batch_op:
        batch_op.drop_index('gpu_provider')
        batch_op.drop_index('gpu_by_price')

    op.drop_table('gpu_resources')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index('events_block')

    op.drop_table('events')
    op.drop_table('disputes')
    op.drop_table('cursor')
    op.drop_table('blocks')
