"""keyed chains: a seal per signed practice record and per chain head, and the record chain of competency evidence

Revision ID: 0004
Revises: 0002
Create Date: 2026-12-06 03:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = "0002"
branch_labels = None
depends_on = None

SIGNED_TABLES = ('signoffs', 'practice_reviews', 'countersignatures', 'panel_decisions')


def upgrade():
    for table in SIGNED_TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('link_mac', sa.String(length=64), nullable=True))
            batch_op.add_column(sa.Column('key_id', sa.String(length=16), nullable=True))
    with op.batch_alter_table('practice_chain_heads', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_mac', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('head_mac', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('key_id', sa.String(length=16), nullable=True))
    op.create_table('record_chain_heads',
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('length', sa.Integer(), nullable=False),
    sa.Column('last_mac', sa.String(length=64), nullable=False),
    sa.Column('head_mac', sa.String(length=64), nullable=False),
    sa.Column('key_id', sa.String(length=16), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['users.id'], name=op.f('fk_record_chain_heads_person_id_users')),
    sa.PrimaryKeyConstraint('person_id', name=op.f('pk_record_chain_heads'))
    )
    op.create_table('record_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('record_hash', sa.String(length=64), nullable=False),
    sa.Column('prev_mac', sa.String(length=64), nullable=False),
    sa.Column('mac', sa.String(length=64), nullable=False),
    sa.Column('key_id', sa.String(length=16), nullable=False),
    sa.Column('sealed_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['users.id'], name=op.f('fk_record_links_person_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_record_links')),
    sa.UniqueConstraint('kind', 'record_id', name=op.f('uq_record_links_kind_record_id')),
    sa.UniqueConstraint('person_id', 'seq', name=op.f('uq_record_links_person_id_seq'))
    )


def downgrade():
    op.drop_table('record_links')
    op.drop_table('record_chain_heads')
    with op.batch_alter_table('practice_chain_heads', schema=None) as batch_op:
        batch_op.drop_column('key_id')
        batch_op.drop_column('head_mac')
        batch_op.drop_column('last_mac')
    for table in reversed(SIGNED_TABLES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('key_id')
            batch_op.drop_column('link_mac')
