"""The ledger store: contracts, settlements, disputes and the audit log through SQLAlchemy (SQLite |
PostgreSQL).

Opening a ledger migrates its schema to the newest revision (`outcomes.ledger.migrations`). Every write runs
in one transaction that first takes the ledger's write lock (`lock_for_write`), so concurrent writers queue
instead of failing, checks made inside the transaction stay true until it commits, and the audit chain gets
one entry after another.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import create_engine, event, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from outcomes.contract import Contract, canonical_form, contract_hash, load_contract_text
from outcomes.ledger import audit, changes, coverage, migrations
from outcomes.ledger import disputes as lifecycle
from outcomes.ledger.errors import LedgerError
from outcomes.ledger.heads import Head
from outcomes.ledger.models import ContractVersion, Settlement, SettlementLine, SettlementOutcome

# pg_advisory_xact_lock key of ledger writes (next to the migration lock's key)
WRITE_LOCK = migrations.MIGRATION_LOCK + 1


class DuplicateSettlement(LedgerError):
    def __init__(self, existing: Settlement):
        self.existing = existing
        super().__init__(
            f"{existing.contract} {existing.period} is already settled: settlement {existing.id} "
            f"({existing.status}, fingerprint {existing.fingerprint}, total {existing.total} {existing.currency}). "
            "A settled period is never changed; corrections are billed as adjustments in a later period."
        )


@dataclass(frozen=True)
class Registered:
    row: ContractVersion
    created: bool


class Ledger:
    def __init__(self, url: str):
        self.url = url
        self.engine = create_engine(url, future=True)
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
        try:
            self.revision = migrations.upgrade(self.engine)
        except migrations.SchemaError as exc:
            self.engine.dispose()
            raise LedgerError(f"{_safe_url(url)}: {exc}") from None
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        audit.watch(self.sessions)  # every audit entry covers the rows its transaction wrote

    def close(self) -> None:
        self.engine.dispose()

    def session(self) -> Session:
        return self.sessions()

    # contracts -------------------------------------------------------------------------------------------
    def add_contract(self, contract: Contract, source_text: str, filename: str) -> Registered:
        try:
            return self._add_contract(contract, source_text, filename)
        finally:
            changes.record()  # a new version may name other parties: kept access checks read again

    def _add_contract(self, contract: Contract, source_text: str, filename: str) -> Registered:
        digest = contract_hash(contract)
        with self.session() as s, s.begin():
            lock_for_write(s)
            existing = s.execute(
                select(ContractVersion).where(
                    ContractVersion.contract == contract.contract, ContractVersion.version == contract.version
                )
            ).scalar_one_or_none()
            if existing is not None:
                if existing.hash == digest:
                    return Registered(existing, False)
                raise LedgerError(
                    f"{filename}: contract {contract.contract} version {contract.version} is already registered "
                    f"with different content ({existing.hash}). An amendment is a new version: bump `version` "
                    "and set `effective_from` to the first period it settles."
                )
            earlier = (
                s.execute(select(ContractVersion).where(ContractVersion.contract == contract.contract))
                .scalars()
                .all()
            )
            if earlier and contract.effective_from is None:
                raise LedgerError(
                    f"{filename}: contract {contract.contract} already has version(s) "
                    f"{', '.join(str(r.version) for r in earlier)}; an amendment needs `effective_from`: "
                    "the first day of the first period it settles"
                )
            row = ContractVersion(
                contract=contract.contract,
                version=contract.version,
                hash=digest,
                effective_from=contract.starts.isoformat(),
                canonical=canonical_form(contract),
                source_text=source_text,
                filename=filename,
                registered_at=audit.now_text(),
            )
            s.add(row)
            s.flush()
            audit.append(
                s,
                "contract.add",
                f"{contract.contract} v{contract.version}",
                {"hash": digest, "filename": filename, "effective_from": row.effective_from},
            )
            return Registered(row, True)

    def contract_versions(self, contract_id: str | None = None) -> list[ContractVersion]:
        with self.session() as s:
            q = select(ContractVersion).order_by(ContractVersion.contract, ContractVersion.version)
            if contract_id is not None:
                q = q.where(ContractVersion.contract == contract_id)
            return list(s.execute(q).scalars())

    def contract_version(self, contract_id: str, version: int | None = None) -> ContractVersion:
        rows = self.contract_versions(contract_id)
        if not rows:
            known = sorted({r.contract for r in self.contract_versions()})
            raise LedgerError(
                f"no contract {contract_id!r} is registered"
                + (f" (known: {', '.join(known)})" if known else "")
                + "; register it with `outcomes contract add FILE`"
            )
        if version is None:
            return rows[-1]
        for r in rows:
            if r.version == version:
                return r
        raise LedgerError(
            f"contract {contract_id!r} has no version {version} (have {[r.version for r in rows]})"
        )

    def contract_for(self, contract_id: str, period_start) -> tuple[Contract, ContractVersion]:
        """The version whose effective_from is the latest at or before the period's start."""
        rows = [
            r for r in self.contract_versions(contract_id) if r.effective_from <= period_start.isoformat()
        ]
        if not rows:
            self.contract_version(contract_id)  # raises when unknown
            raise LedgerError(
                f"no version of contract {contract_id!r} is in effect on {period_start.isoformat()}: "
                "the first version starts later"
            )
        row = max(rows, key=lambda r: (r.effective_from, r.version))
        return load_version(row), row

    # settlements -----------------------------------------------------------------------------------------
    def find_settlement(self, contract_id: str, period: str) -> Settlement | None:
        with self.session() as s:
            return s.execute(
                select(Settlement).where(Settlement.contract == contract_id, Settlement.period == period)
            ).scalar_one_or_none()

    def settlement(self, ref: str | int) -> Settlement:
        """By id (`7`) or by contract and period (`acme-northwind/2026-10`)."""
        text = str(ref)
        with self.session() as s:
            if text.isdigit():
                row = s.get(Settlement, int(text)) if int(text) < 2**63 else None
            elif "/" in text:
                contract_id, period = text.rsplit("/", 1)
                row = s.execute(
                    select(Settlement).where(Settlement.contract == contract_id, Settlement.period == period)
                ).scalar_one_or_none()
            else:
                row = None
            if row is None:
                raise LedgerError(
                    f"no settlement {text!r}: give its number or CONTRACT/PERIOD (see `outcomes settlements`)"
                )
            return row

    def settlements(self, contract_id: str | None = None) -> list[Settlement]:
        with self.session() as s:
            q = select(Settlement).order_by(Settlement.id)
            if contract_id:
                q = q.where(Settlement.contract == contract_id)
            return list(s.execute(q).scalars())

    def record_settlement(
        self,
        settlement: Settlement,
        lines: list[SettlementLine],
        outcomes: list[SettlementOutcome],
        adjusted_disputes: Sequence[int] = (),
    ) -> Settlement:
        """Record a settlement with its lines and outcomes, all or nothing. `adjusted_disputes` are accepted
        disputes whose claims this settlement bills: they are marked adjusted in the same transaction."""
        existing = self.find_settlement(settlement.contract, settlement.period)
        if existing is not None:
            raise DuplicateSettlement(existing)
        try:
            with self.session() as s, s.begin():
                lock_for_write(s)
                # Under the lock: a concurrent recorder of this period has committed or has not started.
                taken = s.execute(
                    select(Settlement.id).where(
                        Settlement.contract == settlement.contract, Settlement.period == settlement.period
                    )
                ).first()
                if taken is not None:
                    raise _PeriodTaken
                s.add(settlement)
                s.flush()
                for line in lines:
                    line.settlement_id = settlement.id
                    s.add(line)
                for o in outcomes:
                    o.settlement_id = settlement.id
                    s.add(o)
                audit.append(
                    s,
                    "settlement.record",
                    f"{settlement.contract}/{settlement.period}",
                    {
                        "settlement": settlement.id,
                        "status": settlement.status,
                        "fingerprint": settlement.fingerprint,
                        "total": settlement.total,
                        "currency": settlement.currency,
                        "lines": [[ln.kind, ln.label, ln.amount] for ln in lines],
                    },
                )
                if adjusted_disputes:
                    lifecycle.mark_adjusted(s, list(adjusted_disputes), settlement.id)
        except (IntegrityError, _PeriodTaken):
            # Another process recorded this period between our check and our insert: the first one wins.
            existing = self.find_settlement(settlement.contract, settlement.period)
            if existing is not None:
                raise DuplicateSettlement(existing) from None
            raise
        return self.settlement(settlement.id)

    def record_ingest(self, summary: dict) -> None:
        with self.session() as s, s.begin():
            lock_for_write(s)
            audit.append(s, "facts.ingest", f"{summary.get('kind')}:{summary.get('file')}", summary)

    def verify_audit(self, against: Head | None = None, keys: Sequence[str] = ()) -> audit.ChainReport:
        """The chain, its recorded signatures, every covered row and (given) a kept head it must extend."""
        with self.session() as s:
            return audit.verify(s, against, tuple(keys))

    def audit_payloads(self, action: str) -> list[tuple[int, str]]:
        """(seq, payload) of the entries of one action, oldest first."""
        from outcomes.ledger.models import AuditEntry

        with self.session() as s:
            return [
                (int(seq), str(p))
                for seq, p in s.execute(
                    select(AuditEntry.seq, AuditEntry.payload).where(AuditEntry.action == action).order_by(AuditEntry.seq)
                ).all()
            ]

    def head(self) -> Head:
        """The chain's head: the last entry's sequence number and hash."""
        with self.session() as s:
            return audit.head_of(s)

    def sign_head(self, private_key, party: str | None = None) -> Head:
        """Sign the current head with a party's Ed25519 key and record the signed head in the chain."""
        from outcomes.ledger import heads

        with self.session() as s, s.begin():
            lock_for_write(s)
            signed = heads.sign(audit.head_of(s), private_key)
            audit.append(
                s,
                "audit.sign",
                f"head {signed.seq}" + (f" by the {party}" if party else ""),
                {"seq": signed.seq, "hash": signed.hash, "key": signed.key, "signature": signed.signature,
                 "party": party},
            )
        return signed

    def settlement_head(self, settlement: Settlement) -> Head | None:
        """The head right after a settlement was recorded (its `settlement.record` entry): the invoice prints
        it, so that the counterparty keeps it."""
        from outcomes.ledger.models import AuditEntry

        with self.session() as s:
            for e in s.execute(
                select(AuditEntry)
                .where(
                    AuditEntry.action == "settlement.record",
                    AuditEntry.subject == f"{settlement.contract}/{settlement.period}",
                )
                .order_by(AuditEntry.seq)
            ).scalars():
                return Head(e.seq, e.hash)
        return None

    def settlement_row_problems(self, settlement: Settlement) -> list[str]:
        """The settlement's own rows (itself, its lines, its outcomes) that differ from what the chain recorded."""
        from outcomes.ledger.models import AuditEntry

        keys = {coverage.row_key("settlements", [settlement.id])}
        keys |= {coverage.row_key("settlement_lines", [ln.id]) for ln in settlement.lines}
        keys |= {coverage.row_key("settlement_outcomes", [o.id]) for o in settlement.outcomes}
        with self.session() as s:
            entries = s.execute(
                select(AuditEntry.seq, AuditEntry.action, AuditEntry.subject, AuditEntry.payload).order_by(
                    AuditEntry.seq
                )
            ).all()
            for e in entries:  # and the rows its entry recorded, in case some were deleted since
                if e.action == "settlement.record" and e.subject == f"{settlement.contract}/{settlement.period}":
                    keys |= set(coverage.vouched([(e.seq, e.payload)]))
            payloads = [(e.seq, e.payload) for e in entries]
            return [str(p) for p in coverage.check(s.connection(), payloads, only=keys)]

    # disputes (see outcomes.ledger.disputes for the lifecycle) --------------------------------------------
    def open_dispute(
        self,
        settlement: str | int,
        line: int,
        *,
        party: str,
        reason: str,
        interaction_ids: Iterable[str] | str | None = None,
        amount: str | Decimal | None = None,
    ) -> lifecycle.DisputeView:
        """Dispute line `line` of a settlement (its number or CONTRACT/PERIOD) as the buyer or the provider."""
        row = self.settlement(settlement)
        with self.session() as s, s.begin():
            lock_for_write(s)
            dispute_id = lifecycle.open_dispute(
                s, row, line, party=party, reason=reason, interaction_ids=interaction_ids, amount=amount
            )
        return self.dispute(dispute_id)

    def answer_dispute(self, dispute_id: int, *, party: str, note: str) -> lifecycle.DisputeView:
        """The other party's answer to an open dispute."""
        return self._step(dispute_id, "answer", party, note)

    def accept_dispute(
        self, dispute_id: int, *, note: str | None = None, party: str | None = None
    ) -> lifecycle.DisputeView:
        """The other party accepts the claim (from open or answered): the next settlement adjusts it."""
        return self._step(dispute_id, "accept", party, note)

    def reject_dispute(
        self, dispute_id: int, *, note: str, party: str | None = None
    ) -> lifecycle.DisputeView:
        """The other party rejects the claim (from open or answered), saying why."""
        return self._step(dispute_id, "reject", party, note)

    def _step(
        self, dispute_id: int, action: str, party: str | None, note: str | None
    ) -> lifecycle.DisputeView:
        with self.session() as s, s.begin():
            lock_for_write(s)
            lifecycle.step(s, dispute_id, action, party=party, note=note)
        return self.dispute(dispute_id)

    def dispute(self, dispute_id: int) -> lifecycle.DisputeView:
        with self.session() as s:
            found = lifecycle.views(s, dispute_ids=[dispute_id]) if 0 < dispute_id < 2**63 else []
        if not found:
            raise LedgerError(f"no dispute {dispute_id} (see `outcomes dispute list`)")
        return found[0]

    def disputes(
        self,
        contract_id: str | None = None,
        state: str | None = None,
        settlement: str | int | None = None,
    ) -> list[lifecycle.DisputeView]:
        """Disputes, oldest first, optionally of one contract, in one state, or about one settlement."""
        settlement_id = self.settlement(settlement).id if settlement is not None else None
        with self.session() as s:
            return lifecycle.views(s, contract=contract_id, state=state, settlement_id=settlement_id)

    def accepted_unadjusted_disputes(self, contract_id: str) -> list[lifecycle.DisputeView]:
        """Accepted disputes of a contract that no settlement has billed yet: the next settlement's
        adjustments. Each names its settlement, line, amount claimed (`claimed_adjustment` signs it) and ids."""
        return self.disputes(contract_id, state="accepted")

    def mark_disputes_adjusted(
        self, session: Session, dispute_ids: Sequence[int], settlement_id: int
    ) -> None:
        """Within the caller's transaction: settlement `settlement_id` bills these accepted disputes.

        Writes one `adjusted` event and audit entry per dispute; a dispute that is not accepted (or already
        adjusted, or of another contract) refuses the whole call, so the caller's transaction rolls back."""
        lock_for_write(session)
        lifecycle.mark_adjusted(session, list(dispute_ids), settlement_id)


def load_version(row: ContractVersion) -> Contract:
    """The registered version, read from the text as registered (the author's order and decimals), and
    checked against its recorded hash so that an edit behind the ledger's back cannot settle silently."""
    contract, issues = load_contract_text(row.source_text, row.filename)
    if contract is None:
        raise LedgerError(
            f"contract {row.contract} v{row.version} as stored no longer validates: {issues[0]}"
        )
    if contract_hash(contract) != row.hash:
        raise LedgerError(
            f"contract {row.contract} v{row.version}: the stored text does not match its registered hash "
            f"{row.hash}; the ledger was edited outside outcomes (see `outcomes audit verify`)"
        )
    return contract


class _PeriodTaken(Exception):
    """Inside record_settlement: the period was recorded by someone else first."""


def lock_for_write(session: Session) -> None:
    """Take the ledger's write lock for the session's transaction (call it first in a write transaction).

    SQLite: `BEGIN IMMEDIATE` (a second writer waits on the busy timeout rather than failing with "database is
    locked" when both read before writing). PostgreSQL: a transaction-level advisory lock, released at commit
    or rollback. Calling it again in the same transaction is harmless.
    """
    conn = session.connection()
    if conn.dialect.name == "sqlite":
        if not conn.connection.dbapi_connection.in_transaction:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
    elif conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": WRITE_LOCK})


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # only for a message
        return "the ledger"


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()
