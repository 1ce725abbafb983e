"""SQL implementation of server.members.repository.MemberRepository."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import func, insert, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.ledger.models import ReceiptDetail
from server.db.models import Card, CardStateChange, CardType, Member, MemberContactChange, Receipt
from server.db.outbox.repo import emit
from server.events.schema import NewEvent
from server.members.cards import CardState
from server.members.model import (
    CardInfo,
    CardTypeInfo,
    MemberInfo,
    Profile,
    PurchaseInfo,
    RegistrationChannel,
)

_PROFILE_COLUMNS = (
    "first_name", "last_name", "middle_name", "gender", "birth_date", "marital_status",
    "address", "phone", "email", "social_ids",
)


def _card(row: Card) -> CardInfo:
    return CardInfo(row.number, row.card_type, CardState(row.state), row.member_id,
                    row.replaces_number, row.created_at)


class SqlMemberRepository:
    """Members and cards over one AsyncSession (the caller owns the transaction)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def emit(self, event: NewEvent) -> None:
        await emit(self.session, event)

    async def add_member(
        self, member_id: uuid.UUID, profile: Profile, channel: RegistrationChannel
    ) -> None:
        values = {name: getattr(profile, name) for name in _PROFILE_COLUMNS}
        await self.session.execute(
            insert(Member).values(id=member_id, registration_channel=channel.value, **values)
        )

    async def member(self, member_id: uuid.UUID) -> MemberInfo | None:
        row = await self.session.get(Member, member_id)
        if row is None:
            return None
        cards = (await self.session.scalars(
            select(Card).where(Card.member_id == member_id)
            .order_by(Card.created_at.desc(), Card.number.desc())
        )).all()
        profile = Profile(**{name: getattr(row, name) for name in _PROFILE_COLUMNS})
        profile.social_ids = dict(row.social_ids or {})
        return MemberInfo(row.id, profile, RegistrationChannel(row.registration_channel),
                          row.created_at, [_card(c) for c in cards], vip=row.vip)

    async def member_id_by_contact(
        self, *, phone: str | None = None, email: str | None = None
    ) -> uuid.UUID | None:
        column = Member.phone if phone is not None else Member.email
        return await self.session.scalar(select(Member.id).where(column == (phone or email)))

    async def update_member(self, member_id: uuid.UUID, changes: dict[str, object]) -> None:
        await self.session.execute(
            update(Member).where(Member.id == member_id).values(**changes, updated_at=func.now())
        )
        self.session.expire_all()

    async def add_contact_change(
        self, member_id: uuid.UUID, field: str, old: str | None, new: str | None, source: str,
        principal: str,
    ) -> None:
        await self.session.execute(insert(MemberContactChange).values(
            member_id=member_id, field=field, old_value=old, new_value=new, source=source,
            principal=principal,
        ))

    async def card_type(self, code: str) -> CardTypeInfo | None:
        row = await self.session.get(CardType, code)
        if row is None:
            return None
        return CardTypeInfo(row.code, row.name, row.accrual_bps, row.number_prefix,
                            row.requires_verification)

    async def take_card_sequence(self, card_type: str) -> int:
        """Row-locking increment: concurrent issues of one type never share a number."""
        return (await self.session.execute(
            update(CardType).where(CardType.code == card_type)
            .values(next_sequence=CardType.next_sequence + 1)
            .returning(CardType.next_sequence - 1)
        )).scalar_one()

    async def add_card(
        self, number: str, card_type: str, member_id: uuid.UUID | None, state: CardState,
        replaces_number: str | None,
    ) -> None:
        await self.session.execute(insert(Card).values(
            number=number, card_type=card_type, member_id=member_id, state=state.value,
            replaces_number=replaces_number,
        ))

    async def card(self, number: str, *, for_update: bool = False) -> CardInfo | None:
        query = select(Card).where(Card.number == number).execution_options(
            populate_existing=True
        )
        if for_update:
            query = query.with_for_update()
        row = await self.session.scalar(query)
        return None if row is None else _card(row)

    async def set_card_state(
        self, number: str, old: CardState | None, new: CardState, reason: str, principal: str
    ) -> None:
        if old is not None:
            await self.session.execute(
                update(Card).where(Card.number == number)
                .values(state=new.value, updated_at=func.now())
            )
        await self.session.execute(insert(CardStateChange).values(
            card_number=number, from_state=old.value if old else None, to_state=new.value,
            reason=reason, principal=principal,
        ))

    async def purchases(
        self, member_id: uuid.UUID, before: tuple[dt.datetime, uuid.UUID] | None, limit: int,
        stores: frozenset[str] | None = None,
    ) -> list[PurchaseInfo]:
        query = (
            select(Receipt, ReceiptDetail.refunded)
            .outerjoin(ReceiptDetail, ReceiptDetail.receipt_id == Receipt.id)
            .where(Receipt.member_id == member_id)
            .order_by(Receipt.confirmed_at.desc(), Receipt.id.desc()).limit(limit)
        )
        if stores is not None:
            query = query.where(Receipt.store_code.in_(sorted(stores)))
        if before is not None:
            query = query.where(tuple_(Receipt.confirmed_at, Receipt.id) < tuple_(*before))
        rows = (await self.session.execute(query)).all()
        return [
            PurchaseInfo(r.id, r.store_code, r.receipt_number, r.card_number, r.total_minor,
                         r.discount_total_minor, r.currency, r.confirmed_at, r.state,
                         # the refunds' running state: gross money refunded per payment
                         sum((refunded or {}).get("payments", [])))
            for r, refunded in rows
        ]
