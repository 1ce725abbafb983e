"""Certificate types bound their face values: min, max and step, under an absolute cap.

Existing types get the bounds they already implied: a fixed-value type its smallest and
largest denomination, a free-value type 1 to the cap (10^10 minor units); step 1.
Certificates issued before (even of 2^63-1) are left as they are: the usage report copes.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None  # the certificate tables (0004) come in through 0009

CAP = 10_000_000_000
COLUMNS = ("min_denomination_minor", "max_denomination_minor", "denomination_step_minor")


def upgrade() -> None:
    for name in COLUMNS:
        op.add_column("certificate_types", sa.Column(name, sa.BigInteger(), nullable=True))
    op.execute(sa.text(f"""
        UPDATE certificate_types t SET
            min_denomination_minor = COALESCE(
                (SELECT min(d) FROM unnest(t.denominations) d WHERE d BETWEEN 1 AND {CAP}), 1),
            max_denomination_minor = COALESCE(
                (SELECT max(d) FROM unnest(t.denominations) d WHERE d BETWEEN 1 AND {CAP}),
                {CAP}),
            denomination_step_minor = 1"""))
    for name in COLUMNS:
        op.alter_column("certificate_types", name, nullable=False)
    op.create_check_constraint(
        op.f("ck_certificate_types_face_value_bounds"), "certificate_types",
        "0 < min_denomination_minor AND min_denomination_minor <= max_denomination_minor "
        f"AND max_denomination_minor <= {CAP}")
    op.create_check_constraint(
        op.f("ck_certificate_types_face_value_step_positive"), "certificate_types",
        "denomination_step_minor > 0")


def downgrade() -> None:
    for name in ("face_value_step_positive", "face_value_bounds"):
        op.drop_constraint(op.f(f"ck_certificate_types_{name}"), "certificate_types",
                           type_="check")
    for name in reversed(COLUMNS):
        op.drop_column("certificate_types", name)
