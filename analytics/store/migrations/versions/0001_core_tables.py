"""core tables

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""
import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('complaints',
    sa.Column('complaint_id', sa.String(length=128), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('text', sa.String(), nullable=False),
    sa.Column('channel', sa.String(length=64), nullable=True),
    sa.Column('category', sa.String(length=32), nullable=True),
    sa.Column('category_source', sa.String(length=16), nullable=True),
    sa.Column('product', sa.String(length=256), nullable=True),
    sa.Column('order_id', sa.String(length=128), nullable=True),
    sa.Column('conversation_id', sa.String(length=128), nullable=True),
    sa.Column('severity', sa.String(length=32), nullable=True),
    sa.Column('attrs', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('complaint_id')
    )
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.create_index('ix_complaint_channel_created', ['channel', 'created_at'], unique=False)
        batch_op.create_index('ix_complaint_created', ['created_at'], unique=False)
        batch_op.create_index('ix_complaint_product_created', ['product', 'created_at'], unique=False)

    op.create_table('conversations',
    sa.Column('conversation_id', sa.String(length=128), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('agent', sa.String(length=128), nullable=False),
    sa.Column('channel', sa.String(length=64), nullable=True),
    sa.Column('shop', sa.String(length=128), nullable=True),
    sa.Column('customer_id', sa.String(length=128), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('first_response_seconds', sa.Float(), nullable=True),
    sa.Column('first_response_computed', sa.Boolean(), nullable=True),
    sa.Column('resolved', sa.Boolean(), nullable=True),
    sa.Column('rating', sa.Integer(), nullable=True),
    sa.Column('transferred', sa.Boolean(), nullable=True),
    sa.Column('attrs', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('conversation_id')
    )
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.create_index('ix_conv_agent_started', ['agent', 'started_at'], unique=False)
        batch_op.create_index('ix_conv_channel_started', ['channel', 'started_at'], unique=False)
        batch_op.create_index('ix_conv_shop_started', ['shop', 'started_at'], unique=False)
        batch_op.create_index('ix_conv_started', ['started_at'], unique=False)

    op.create_table('kb_entries',
    sa.Column('kb_id', sa.String(length=128), nullable=False),
    sa.Column('question', sa.String(), nullable=False),
    sa.Column('answer', sa.String(), nullable=False),
    sa.Column('tags', sa.String(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('kb_id')
    )
    op.create_table('messages',
    sa.Column('message_id', sa.String(length=128), nullable=False),
    sa.Column('conversation_id', sa.String(length=128), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sender', sa.String(length=16), nullable=False),
    sa.Column('text', sa.String(), nullable=False),
    sa.Column('sentiment', sa.Float(), nullable=True),
    sa.Column('sentiment_label', sa.String(length=8), nullable=True),
    sa.PrimaryKeyConstraint('message_id')
    )
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.create_index('ix_msg_conv_sent', ['conversation_id', 'sent_at'], unique=False)
        batch_op.create_index('ix_msg_sent_sender', ['sent_at', 'sender'], unique=False)

    op.create_table('orders',
    sa.Column('order_id', sa.String(length=128), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('customer_id', sa.String(length=128), nullable=False),
    sa.Column('channel', sa.String(length=64), nullable=True),
    sa.Column('product', sa.String(length=256), nullable=True),
    sa.Column('sku', sa.String(length=128), nullable=True),
    sa.Column('amount_fen', sa.Integer(), nullable=True),
    sa.Column('quantity', sa.Integer(), nullable=True),
    sa.Column('attrs', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('order_id')
    )
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index('ix_order_channel_created', ['channel', 'created_at'], unique=False)
        batch_op.create_index('ix_order_created', ['created_at'], unique=False)
        batch_op.create_index('ix_order_customer_created', ['customer_id', 'created_at'], unique=False)
        batch_op.create_index('ix_order_product_created', ['product', 'created_at'], unique=False)

    op.create_table('returns',
    sa.Column('return_id', sa.String(length=128), nullable=False),
    sa.Column('order_id', sa.String(length=128), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.String(length=256), nullable=True),
    sa.Column('product', sa.String(length=256), nullable=True),
    sa.Column('amount_fen', sa.Integer(), nullable=True),
    sa.Column('attrs', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('return_id')
    )
    with op.batch_alter_table('returns', schema=None) as batch_op:
        batch_op.create_index('ix_return_created', ['created_at'], unique=False)
        batch_op.create_index('ix_return_product_created', ['product', 'created_at'], unique=False)

    op.create_table('reviews',
    sa.Column('review_id', sa.String(length=128), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('rating', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.String(length=128), nullable=True),
    sa.Column('product', sa.String(length=256), nullable=True),
    sa.Column('text', sa.String(), nullable=True),
    sa.Column('sentiment', sa.Float(), nullable=True),
    sa.Column('attrs', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('review_id')
    )
    with op.batch_alter_table('reviews', schema=None) as batch_op:
        batch_op.create_index('ix_review_created', ['created_at'], unique=False)
        batch_op.create_index('ix_review_product_created', ['product', 'created_at'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('reviews', schema=None) as batch_op:
        batch_op.drop_index('ix_review_product_created')
        batch_op.drop_index('ix_review_created')

    op.drop_table('reviews')
    with op.batch_alter_table('returns', schema=None) as batch_op:
        batch_op.drop_index('ix_return_product_created')
        batch_op.drop_index('ix_return_created')

    op.drop_table('returns')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index('ix_order_product_created')
        batch_op.drop_index('ix_order_customer_created')
        batch_op.drop_index('ix_order_created')
        batch_op.drop_index('ix_order_channel_created')

    op.drop_table('orders')
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_index('ix_msg_sent_sender')
        batch_op.drop_index('ix_msg_conv_sent')

    op.drop_table('messages')
    op.drop_table('kb_entries')
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_index('ix_conv_started')
        batch_op.drop_index('ix_conv_shop_started')
        batch_op.drop_index('ix_conv_channel_started')
        batch_op.drop_index('ix_conv_agent_started')

    op.drop_table('conversations')
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.drop_index('ix_complaint_product_created')
        batch_op.drop_index('ix_complaint_created')
        batch_op.drop_index('ix_complaint_channel_created')

    op.drop_table('complaints')

