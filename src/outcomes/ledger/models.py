"""Ledger tables. Append-only by design: rows are inserted, never updated (corrections are adjustments).

Money and other decimals are stored as decimal strings so that SQLite and PostgreSQL hold exactly the same text.
Timestamps are ISO-8601 strings in UTC for the same reason.

The schema is created and upgraded by the Alembic revisions in `outcomes.ledger.migrations`: a change here
needs a new revision there (a test compares the migrated schema with these declarations).
"""

from __future__ import annotations

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Integer,
    PrimaryKeyConstraint,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class ContractVersion(Base):
    __tablename__ = "contract_versions"
    __table_args__ = (UniqueConstraint("contract", "version", name="uq_contract_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contract: Mapped[str] = mapped_column(String(200), index=True)
    version: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(80))
    effective_from: Mapped[str] = mapped_column(String(10))
    canonical: Mapped[str] = mapped_column(Text)
    source_text: Mapped[str] = mapped_column(Text)
    filename: Mapped[str] = mapped_column(String(500))
    registered_at: Mapped[str] = mapped_column(String(40))


class Settlement(Base):
    __tablename__ = "settlements"
    __table_args__ = (UniqueConstraint("contract", "period", name="uq_settlement_period"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    contract: Mapped[str] = mapped_column(String(200), index=True)
    version: Mapped[int] = mapped_column(Integer)
    contract_hash: Mapped[str] = mapped_column(String(80))
    period: Mapped[str] = mapped_column(String(10))
    period_start: Mapped[str] = mapped_column(String(10))
    period_end: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(20))  # final | provisional
    fingerprint: Mapped[str] = mapped_column(String(80))
    input_digest: Mapped[str] = mapped_column(String(80))
    facts_batch: Mapped[int] = mapped_column(Integer)
    outcomes_version: Mapped[str] = mapped_column(String(40))
    currency: Mapped[str] = mapped_column(String(3))
    total: Mapped[str] = mapped_column(String(40))
    notices: Mapped[str] = mapped_column(Text, default="[]")
    created_at: Mapped[str] = mapped_column(String(40))
    # added by migration 0003, hence after created_at
    measures: Mapped[str] = mapped_column(Text, default="[]", server_default="[]")  # service-level results
    metrics: Mapped[str] = mapped_column(Text, default="{}", server_default="{}")  # metric values used

    lines: Mapped[list[SettlementLine]] = relationship(
        back_populates="settlement", order_by="SettlementLine.seq", lazy="selectin"
    )
    outcomes: Mapped[list[SettlementOutcome]] = relationship(
        back_populates="settlement", order_by="SettlementOutcome.outcome", lazy="selectin"
    )


class SettlementLine(Base):
    __tablename__ = "settlement_lines"
    __table_args__ = (UniqueConstraint("settlement_id", "seq", name="uq_line_seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    settlement_id: Mapped[int] = mapped_column(ForeignKey("settlements.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(40))
    label: Mapped[str] = mapped_column(String(300))
    outcome: Mapped[str | None] = mapped_column(String(200), nullable=True)
    workflows: Mapped[str] = mapped_column(Text)  # JSON list
    quantity: Mapped[str | None] = mapped_column(String(40), nullable=True)
    unit_price: Mapped[str | None] = mapped_column(String(40), nullable=True)
    amount: Mapped[str] = mapped_column(String(40))
    unrounded: Mapped[str] = mapped_column(String(80))
    details: Mapped[str] = mapped_column(Text)  # JSON object: the line's evidence

    settlement: Mapped[Settlement] = relationship(back_populates="lines")


class SettlementOutcome(Base):
    """Per outcome of a settlement: the SQL it compiled to and its counts by workflow, fate and reason."""

    __tablename__ = "settlement_outcomes"
    __table_args__ = (UniqueConstraint("settlement_id", "outcome", name="uq_settlement_outcome"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    settlement_id: Mapped[int] = mapped_column(ForeignKey("settlements.id"), index=True)
    outcome: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))
    sql: Mapped[str] = mapped_column(Text)
    counts: Mapped[str] = mapped_column(Text)  # JSON list of {workflow, status, reason, n}
    evidence_table: Mapped[str] = mapped_column(String(200))

    settlement: Mapped[Settlement] = relationship(back_populates="outcomes")


class AuditEntry(Base):
    """One ledger change. Each entry holds the hash of the previous one, so an edit anywhere breaks the chain."""

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(80))
    subject: Mapped[str] = mapped_column(String(300))
    payload: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(80))
    hash: Mapped[str] = mapped_column(String(80))


class Dispute(Base):
    """A party's claim that a settlement line is wrong. Never updated: its state is derived from its events."""

    __tablename__ = "disputes"
    __table_args__ = (
        ForeignKeyConstraint(
            ["settlement_id", "line_seq"],
            ["settlement_lines.settlement_id", "settlement_lines.seq"],
            name="fk_dispute_line",
        ),
        CheckConstraint("opened_by IN ('buyer', 'provider')", name="ck_dispute_opened_by"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    settlement_id: Mapped[int] = mapped_column(ForeignKey("settlements.id"), index=True)
    line_seq: Mapped[int] = mapped_column(Integer)
    opened_by: Mapped[str] = mapped_column(String(20))  # buyer | provider
    reason: Mapped[str] = mapped_column(Text)
    interaction_ids: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of interaction ids
    amount_claimed: Mapped[str | None] = mapped_column(String(40), nullable=True)  # decimal string
    opened_at: Mapped[str] = mapped_column(String(40))

    events: Mapped[list[DisputeEvent]] = relationship(order_by="DisputeEvent.seq", lazy="selectin")


class DisputeEvent(Base):
    """One step of a dispute (open, answer, accept, reject, adjusted), numbered from 1 within the dispute.

    (dispute_id, seq) is the key, so two concurrent steps on one dispute cannot both land.
    """

    __tablename__ = "dispute_events"
    __table_args__ = (
        PrimaryKeyConstraint("dispute_id", "seq", name="pk_dispute_events"),
        CheckConstraint(
            "action IN ('open', 'answer', 'accept', 'reject', 'adjusted')", name="ck_dispute_event_action"
        ),
        CheckConstraint("party IS NULL OR party IN ('buyer', 'provider')", name="ck_dispute_event_party"),
    )

    dispute_id: Mapped[int] = mapped_column(ForeignKey("disputes.id"), autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer, autoincrement=False)
    action: Mapped[str] = mapped_column(String(20))
    party: Mapped[str | None] = mapped_column(String(20), nullable=True)  # none on `adjusted`
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    # on `adjusted`: the settlement whose adjustment line carries the accepted claim
    adjusted_in: Mapped[int | None] = mapped_column(ForeignKey("settlements.id"), nullable=True)
    at: Mapped[str] = mapped_column(String(40))


# people and access (migration 0005): who may see and do what through the shared server (docs/server.md)
class Organisation(Base):
    """A company using the shared server: a contract's buyer, its provider or its audit firm, by the name the
    contract's `parties` give it."""

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[str] = mapped_column(String(40))


class User(Base):
    """A person of one organisation. Signs in with a password (argon2 hash) or calls the API with a token."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)  # lower-cased
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    password_hash: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[str] = mapped_column(String(40))


class Grant(Base):
    """A role of a user on one contract (or, with no contract, on every contract where the user's organisation
    is the role's party). Revoked, never deleted."""

    __tablename__ = "grants"
    __table_args__ = (
        CheckConstraint(
            "role IN ('buyer-admin', 'buyer-viewer', 'provider-admin', 'provider-viewer', 'auditor')",
            name="ck_grant_role",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    contract: Mapped[str | None] = mapped_column(String(200), nullable=True)
    role: Mapped[str] = mapped_column(String(20))
    granted_at: Mapped[str] = mapped_column(String(40))
    revoked_at: Mapped[str | None] = mapped_column(String(40), nullable=True)


class ApiToken(Base):
    """An API token: `oc_<id>_<secret>`; only the SHA-256 of the whole token is kept (shown once)."""

    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(24), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    hash: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[str] = mapped_column(String(40))
    expires_at: Mapped[str] = mapped_column(String(40))
    revoked_at: Mapped[str | None] = mapped_column(String(40), nullable=True)


class WebSession(Base):
    """A browser sign-in: the cookie holds a random secret, this row its SHA-256 and the form (CSRF) token."""

    __tablename__ = "web_sessions"

    id: Mapped[str] = mapped_column(String(80), primary_key=True)  # sha256 of the cookie's secret
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    csrf: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[str] = mapped_column(String(40))
    expires_at: Mapped[str] = mapped_column(String(40))
    ended_at: Mapped[str | None] = mapped_column(String(40), nullable=True)


class DisputeComment(Base):
    """A comment in a dispute's thread (either party or the auditor); it does not change the dispute's state."""

    __tablename__ = "dispute_comments"
    __table_args__ = (PrimaryKeyConstraint("dispute_id", "seq", name="pk_dispute_comments"),)

    dispute_id: Mapped[int] = mapped_column(ForeignKey("disputes.id"), autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer, autoincrement=False)
    author: Mapped[str] = mapped_column(String(320))
    organisation: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(Text)
    at: Mapped[str] = mapped_column(String(40))
