"""SocialService: protobuf in, the social store (server/db/social/repo.py) out.

Actions come only through the Meta webhook (server/features/meta_hooks.py); these RPCs link
accounts, keep rules (save, list, delete) and read a member's social record.
"""

from __future__ import annotations

import uuid

from kopilka.v1 import social_pb2 as S
from kopilka.v1 import social_pb2_grpc
from sqlalchemy.ext.asyncio import AsyncSession

from server.api.context import Context
from server.api.convert import timestamp
from server.api.deps import ApiDeps, caller
from server.api.idempotency import parse_uuid, run_once
from server.api.paging import decode_key_token, encode_key_token, page_size
from server.db.ledger.repo import raw_connection
from server.db.members.repo import SqlMemberRepository
from server.db.social import repo
from server.errors import DomainError, ErrorKind, invalid, not_found
from server.members import service as members
from server.social.model import Rule, check_rule

SERVICE = "/kopilka.v1.SocialService/"
NETWORKS = {"facebook": S.SOCIAL_NETWORK_FACEBOOK, "instagram": S.SOCIAL_NETWORK_INSTAGRAM}
NETWORK_OF = {v: k for k, v in NETWORKS.items()}
KINDS = {"reaction": S.SOCIAL_ACTION_KIND_REACTION, "comment": S.SOCIAL_ACTION_KIND_COMMENT,
         "mention": S.SOCIAL_ACTION_KIND_MENTION}
KIND_OF = {v: k for k, v in KINDS.items()}
ACTIVITY = 100


def _account(account: S.SocialAccount, path: str) -> tuple[str, str]:
    network = NETWORK_OF.get(account.network)
    if network is None:
        raise invalid(f"{path}.network", "facebook or instagram")
    if not account.social_id.strip():
        raise invalid(f"{path}.social_id", "required")
    return network, account.social_id.strip()


def rule_pb(r: Rule) -> S.SocialRule:
    return S.SocialRule(code=r.code, name=r.name, network=NETWORKS[r.network], post_id=r.post_id,
                        kinds=[KINDS[k] for k in r.kinds], window_minutes=r.window_minutes,
                        points=r.points, coupon_promotion_id=r.coupon_promotion_id or "",
                        cap_count=r.cap_count, cap_days=r.cap_days, active=r.active,
                        update_time=timestamp(r.updated_at),
                        delete_time=timestamp(r.deleted_at))


class SocialServicer(social_pb2_grpc.SocialServiceServicer):
    def __init__(self, deps: ApiDeps) -> None:
        self.deps = deps

    async def _member(self, session: AsyncSession, member_id: str) -> uuid.UUID:
        """The member, seen as the caller may see members (VIPs)."""
        wanted = parse_uuid(member_id, "member_id")
        sees_vip = self.deps.access().member_view.vip
        return (await members.get_member(SqlMemberRepository(session), wanted,
                                         sees_vip=sees_vip)).id

    async def LinkSocialAccount(self, request: S.LinkSocialAccountRequest, context: Context
                                ) -> S.LinkSocialAccountResponse:
        network, social_id = _account(request.account, "account")

        async def work(session: AsyncSession) -> S.LinkSocialAccountResponse:
            member_id = await self._member(session, request.member_id)
            conn = await raw_connection(session)
            owner = await repo.link(conn, network, social_id, member_id)
            if owner != member_id:
                raise DomainError(ErrorKind.FAILED_PRECONDITION, "SOCIAL_ACCOUNT_TAKEN",
                                  "the account is linked to another member; unlink it first")
            return S.LinkSocialAccountResponse(accounts=[
                S.SocialAccount(network=NETWORKS[n], social_id=i)
                for n, i in await repo.accounts_of(conn, member_id)])

        return await run_once(self.deps.db, SERVICE + "LinkSocialAccount", request,
                              S.LinkSocialAccountResponse, work)

    async def UnlinkSocialAccount(self, request: S.UnlinkSocialAccountRequest, context: Context
                                  ) -> S.UnlinkSocialAccountResponse:
        network, social_id = _account(request.account, "account")

        async def work(session: AsyncSession) -> S.UnlinkSocialAccountResponse:
            owner = await repo.unlink(await raw_connection(session), network, social_id)
            if owner is None:
                raise DomainError(ErrorKind.NOT_FOUND, "SOCIAL_ACCOUNT_NOT_LINKED",
                                  "the account is not linked to any member")
            return S.UnlinkSocialAccountResponse(member_id=str(owner))

        return await run_once(self.deps.db, SERVICE + "UnlinkSocialAccount", request,
                              S.UnlinkSocialAccountResponse, work)

    async def UpsertSocialRule(self, request: S.UpsertSocialRuleRequest, context: Context
                               ) -> S.UpsertSocialRuleResponse:
        r = request.rule
        if any(k not in KIND_OF for k in r.kinds):
            raise invalid("rule.kinds", "one or more of reaction, comment, mention")
        rule = check_rule(Rule(
            r.code.strip(), r.name, NETWORK_OF.get(r.network, ""), r.post_id.strip(),
            tuple(dict.fromkeys(KIND_OF[k] for k in r.kinds)), r.window_minutes, r.points,
            r.coupon_promotion_id.strip() or None, r.cap_count, r.cap_days, r.active))

        async def work(session: AsyncSession) -> S.UpsertSocialRuleResponse:
            conn = await raw_connection(session)
            return S.UpsertSocialRuleResponse(rule=rule_pb(await repo.save_rule(conn, rule)))

        return await run_once(self.deps.db, SERVICE + "UpsertSocialRule", request,
                              S.UpsertSocialRuleResponse, work)

    async def ListSocialRules(self, request: S.ListSocialRulesRequest, context: Context
                              ) -> S.ListSocialRulesResponse:
        network = None
        if request.network != S.SOCIAL_NETWORK_UNSPECIFIED:
            network = NETWORK_OF.get(request.network)
            if network is None:
                raise invalid("network", "facebook, instagram or unspecified (every network)")
        size = page_size(request.page_size, "page_size")
        after = decode_key_token(request.page_token, "page_token")
        async with self.deps.db.transaction() as session:
            found = await repo.list_rules(await raw_connection(session), network=network,
                                          show_deleted=request.show_deleted, after=after,
                                          limit=size + 1)
        page = found[:size]
        token = encode_key_token(page[-1].code) if len(found) > size else ""
        return S.ListSocialRulesResponse(rules=[rule_pb(r) for r in page],
                                         next_page_token=token)

    async def DeleteSocialRule(self, request: S.DeleteSocialRuleRequest, context: Context
                               ) -> S.DeleteSocialRuleResponse:
        code = request.code.strip()
        if not code:
            raise invalid("code", "required: the rule's code")

        async def work(session: AsyncSession) -> S.DeleteSocialRuleResponse:
            deleted = await repo.delete_rule(await raw_connection(session), code,
                                             caller().label)
            if deleted is None:
                raise not_found("social rule", code, "SOCIAL_RULE_NOT_FOUND")
            return S.DeleteSocialRuleResponse(rule=rule_pb(deleted))

        return await run_once(self.deps.db, SERVICE + "DeleteSocialRule", request,
                              S.DeleteSocialRuleResponse, work)

    async def ListSocialActivity(self, request: S.ListSocialActivityRequest, context: Context
                                 ) -> S.ListSocialActivityResponse:
        async with self.deps.db.transaction() as session:
            member_id = await self._member(session, request.member_id)
            conn = await raw_connection(session)
            accounts = await repo.accounts_of(conn, member_id)
            actions, rewards = await repo.activity(conn, member_id, ACTIVITY)
        return S.ListSocialActivityResponse(
            accounts=[S.SocialAccount(network=NETWORKS[n], social_id=i) for n, i in accounts],
            actions=[S.SocialAction(network=NETWORKS[a.action.network],
                                    kind=KINDS[a.action.kind], social_id=a.action.social_id,
                                    post_id=a.action.post_id,
                                    occur_time=timestamp(a.action.occurred_at))
                     for a in actions],
            rewards=[S.SocialReward(rule_code=w.rule_code, occurrence=w.occurrence,
                                    outcome=w.outcome, points=w.points,
                                    coupon_id=str(w.coupon_id or ""),
                                    create_time=timestamp(w.created_at)) for w in rewards])
