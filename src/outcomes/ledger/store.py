"""The ledger store: contracts, settlements and the audit log through SQLAlchemy (SQLite | PostgreSQL)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import create_engine, event, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from outcomes.contract import Contract, canonical_form, contract_hash, load_contract_text
from outcomes.ledger import audit
from outcomes.ledger.models import Base, ContractVersion, Settlement, SettlementLine, SettlementOutcome


class LedgerError(Exception):
    pass


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
        Base.metadata.create_all(self.engine)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    def close(self) -> None:
        self.engine.dispose()

    def session(self) -> Session:
        return self.sessions()

    # contracts -------------------------------------------------------------------------------------------
    def add_contract(self, contract: Contract, source_text: str, filename: str) -> Registered:
        digest = contract_hash(contract)
        with self.session() as s, s.begin():
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
                row = s.get(Settlement, int(text))
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
        self, settlement: Settlement, lines: list[SettlementLine], outcomes: list[SettlementOutcome]
    ) -> Settlement:
        existing = self.find_settlement(settlement.contract, settlement.period)
        if existing is not None:
            raise DuplicateSettlement(existing)
        try:
            with self.session() as s, s.begin():
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
        except IntegrityError:
            # Another process recorded this period between our check and our insert: the first one wins.
            existing = self.find_settlement(settlement.contract, settlement.period)
            if existing is not None:
                raise DuplicateSettlement(existing) from None
            raise
        return self.settlement(settlement.id)

    def record_ingest(self, summary: dict) -> None:
        with self.session() as s, s.begin():
            audit.append(s, "facts.ingest", f"{summary.get('kind')}:{summary.get('file')}", summary)

    def verify_audit(self) -> audit.ChainReport:
        with self.session() as s:
            return audit.verify(s)


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


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()
