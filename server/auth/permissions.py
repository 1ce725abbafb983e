"""Permissions and the permission each RPC needs; what each permission is as a right.

Every RPC must appear in RPC_PERMISSIONS (a test checks it against the proto), so a new RPC
is denied until someone decides who may call it. A permission is one (object type, action)
right (NEEDS); roles are data in the database that grant rights (server/auth/roles.py), so
who holds a permission is decided there, not here.
"""

from __future__ import annotations

from enum import StrEnum

from server.auth.grants import Action, ObjectType, Right


class Permission(StrEnum):
    """One thing an RPC needs."""

    RECEIPTS_CALCULATE = "receipts.calculate"
    RECEIPTS_CONFIRM = "receipts.confirm"
    RECEIPTS_REFUND = "receipts.refund"
    BONUS_READ = "bonus.read"
    BONUS_REDEEM = "bonus.redeem"
    BONUS_ADJUST = "bonus.adjust"
    CASH_ACCOUNTS_MANAGE = "cash_accounts.manage"
    VERIFICATION_USE = "verification.use"
    MEMBERS_READ = "members.read"
    MEMBERS_REGISTER = "members.register"
    MEMBERS_WRITE = "members.write"
    MEMBERS_VIP = "members.vip"
    CARDS_MANAGE = "cards.manage"
    CERTIFICATES_READ = "certificates.read"
    CERTIFICATES_ISSUE = "certificates.issue"
    CERTIFICATES_MANAGE = "certificates.manage"
    CATALOG_WRITE = "catalog.write"
    MAILINGS_READ = "mailings.read"
    CONFIG_READ = "config.read"
    CONFIG_WRITE = "config.write"
    PROMOTIONS_WRITE = "promotions.write"
    PROMOTIONS_READ = "promotions.read"
    BONUS_RULES_READ = "bonus_rules.read"
    BONUS_RULES_WRITE = "bonus_rules.write"
    API_KEYS_MANAGE = "api_keys.manage"
    ROLES_READ = "roles.read"
    ROLES_WRITE = "roles.write"
    ROLES_DELETE = "roles.delete"
    # Operator users of the console: create, list, roles, passwords, TOTP, disable.
    USERS_MANAGE = "users.manage"
    # Sign people in and out and check their sessions: the console's backend does this for
    # the browser, with its own key (role "console"), so no RPC is callable without a key.
    USERS_LOGIN = "users.login"
    # Approve or reject another principal's manual points/cash change above the threshold.
    BONUS_APPROVE = "bonus.approve"
    AUDIT_READ = "audit.read"
    # The online store reports baskets, wishlist changes and site events.
    SHOPPING_REPORT = "shopping.report"
    # Read baskets, wishlists, footprints and recommendations.
    SHOPPING_READ = "shopping.read"
    # Online-store orders (issue 13): read them, place them, act on them, answer for a store.
    WEB_ORDERS_READ = "web_orders.read"
    WEB_ORDERS_PLACE = "web_orders.place"
    WEB_ORDERS_MANAGE = "web_orders.manage"
    WEB_ORDERS_ANSWER = "web_orders.answer"
    # Marketing (issue 16): templates, lists, campaigns, triggers; sending is an approval.
    MARKETING_READ = "marketing.read"
    MARKETING_WRITE = "marketing.write"
    MARKETING_SEND = "marketing.send"
    IMPORTS_RUN = "imports.run"
    # Coupons (issue 17): read them, issue them (one or a batch), block them.
    COUPONS_READ = "coupons.read"
    COUPONS_ISSUE = "coupons.issue"
    COUPONS_MANAGE = "coupons.manage"
    # The contact center (issue 17): read appeals and the knowledge base, register, work on.
    APPEALS_READ = "appeals.read"
    APPEALS_CREATE = "appeals.create"
    APPEALS_UPDATE = "appeals.update"
    # Surveys (issue 17): read definitions and results, invite members, design surveys.
    SURVEYS_READ = "surveys.read"
    SURVEYS_INVITE = "surveys.invite"
    SURVEYS_WRITE = "surveys.write"
    ECHO = "echo"


P = Permission
T = ObjectType
A = Action

# The right each permission is; None: any valid key (Echo only says who the caller is).
NEEDS: dict[Permission, Right | None] = {
    P.RECEIPTS_CALCULATE: (T.ORDERS, A.READ),
    P.RECEIPTS_CONFIRM: (T.ORDERS, A.CREATE),
    P.RECEIPTS_REFUND: (T.ORDERS, A.UPDATE),
    P.VERIFICATION_USE: (T.ORDERS, A.APPROVE),  # approve a spend with the member's SMS code
    P.BONUS_READ: (T.POINTS, A.READ),
    P.BONUS_REDEEM: (T.POINTS, A.UPDATE),  # spend points (and convert funds) in a sale
    P.BONUS_ADJUST: (T.POINTS, A.CREATE),  # points by hand, for one member or a list
    P.CASH_ACCOUNTS_MANAGE: (T.CASH_ACCOUNTS, A.UPDATE),
    P.MEMBERS_READ: (T.MEMBERS, A.READ),
    P.MEMBERS_REGISTER: (T.MEMBERS, A.CREATE),
    P.MEMBERS_WRITE: (T.MEMBERS, A.UPDATE),
    P.MEMBERS_VIP: (T.VIP_MEMBERS, A.UPDATE),  # mark or unmark a member VIP
    P.CARDS_MANAGE: (T.CARDS, A.UPDATE),
    P.CERTIFICATES_READ: (T.CERTIFICATES, A.READ),
    P.CERTIFICATES_ISSUE: (T.CERTIFICATES, A.CREATE),
    P.CERTIFICATES_MANAGE: (T.CERTIFICATES, A.UPDATE),
    P.CATALOG_WRITE: (T.CATALOG, A.UPDATE),
    P.MAILINGS_READ: (T.MAILINGS, A.READ),
    P.CONFIG_READ: (T.STORES, A.READ),
    P.CONFIG_WRITE: (T.STORES, A.UPDATE),
    P.PROMOTIONS_WRITE: (T.PROMOTIONS, A.UPDATE),
    P.PROMOTIONS_READ: (T.PROMOTIONS, A.READ),
    P.BONUS_RULES_READ: (T.BONUS_RULES, A.READ),
    P.BONUS_RULES_WRITE: (T.BONUS_RULES, A.UPDATE),
    P.API_KEYS_MANAGE: (T.KEYS, A.UPDATE),
    P.ROLES_READ: (T.ROLES, A.READ),
    P.ROLES_WRITE: (T.ROLES, A.UPDATE),
    P.ROLES_DELETE: (T.ROLES, A.DELETE),
    P.USERS_MANAGE: (T.USERS, A.UPDATE),
    P.USERS_LOGIN: (T.USERS, A.APPROVE),  # approve a person's sign-in (the console's key)
    P.BONUS_APPROVE: (T.POINTS, A.APPROVE),  # the second pair of eyes on manual money
    P.AUDIT_READ: (T.AUDIT, A.READ),
    P.SHOPPING_REPORT: (T.SHOPPING, A.CREATE),
    P.SHOPPING_READ: (T.SHOPPING, A.READ),
    P.WEB_ORDERS_READ: (T.WEB_ORDERS, A.READ),
    P.WEB_ORDERS_PLACE: (T.WEB_ORDERS, A.CREATE),
    P.WEB_ORDERS_MANAGE: (T.WEB_ORDERS, A.UPDATE),
    P.WEB_ORDERS_ANSWER: (T.WEB_ORDERS, A.APPROVE),  # a store's terminal answers a request
    P.MARKETING_READ: (T.CAMPAIGNS, A.READ),
    P.MARKETING_WRITE: (T.CAMPAIGNS, A.UPDATE),
    P.MARKETING_SEND: (T.CAMPAIGNS, A.APPROVE),  # start, test-send, pause, cancel
    P.IMPORTS_RUN: (T.IMPORTS, A.CREATE),  # bring history over (members, balances, sales)
    P.COUPONS_READ: (T.COUPONS, A.READ),
    P.COUPONS_ISSUE: (T.COUPONS, A.CREATE),
    P.COUPONS_MANAGE: (T.COUPONS, A.UPDATE),
    P.APPEALS_READ: (T.APPEALS, A.READ),
    P.APPEALS_CREATE: (T.APPEALS, A.CREATE),
    P.APPEALS_UPDATE: (T.APPEALS, A.UPDATE),
    P.SURVEYS_READ: (T.SURVEYS, A.READ),
    P.SURVEYS_INVITE: (T.SURVEYS, A.CREATE),
    P.SURVEYS_WRITE: (T.SURVEYS, A.UPDATE),
    P.ECHO: None,
}

RPC_PERMISSIONS: dict[str, Permission] = {
    "/kopilka.v1.ReceiptService/CalculateReceipt": P.RECEIPTS_CALCULATE,
    "/kopilka.v1.ReceiptService/ConfirmReceipt": P.RECEIPTS_CONFIRM,
    "/kopilka.v1.ReceiptService/RefundReceipt": P.RECEIPTS_REFUND,
    "/kopilka.v1.ReceiptService/CancelReceipt": P.RECEIPTS_REFUND,
    "/kopilka.v1.BonusService/RedeemBonus": P.BONUS_REDEEM,
    "/kopilka.v1.BonusService/GetBalance": P.BONUS_READ,
    "/kopilka.v1.BonusService/AdjustPoints": P.BONUS_ADJUST,
    "/kopilka.v1.BonusService/AccruePointsForList": P.BONUS_ADJUST,
    "/kopilka.v1.BonusService/TopUpCashAccount": P.CASH_ACCOUNTS_MANAGE,
    "/kopilka.v1.BonusService/ConvertFunds": P.BONUS_REDEEM,
    "/kopilka.v1.BonusService/PoolCashAccounts": P.CASH_ACCOUNTS_MANAGE,
    "/kopilka.v1.VerificationService/SendVerificationCode": P.VERIFICATION_USE,
    "/kopilka.v1.VerificationService/VerifySMS": P.VERIFICATION_USE,
    "/kopilka.v1.VerificationService/GetVerificationTemplate": P.CONFIG_READ,
    "/kopilka.v1.VerificationService/UpdateVerificationTemplate": P.CONFIG_WRITE,
    "/kopilka.v1.MailingService/ListMailings": P.MAILINGS_READ,
    "/kopilka.v1.MarketingService/SetConsent": P.MEMBERS_WRITE,
    "/kopilka.v1.MarketingService/GetConsents": P.MEMBERS_READ,
    "/kopilka.v1.MarketingService/SetMemberPreferences": P.MEMBERS_WRITE,
    "/kopilka.v1.MarketingService/UpsertTemplate": P.MARKETING_WRITE,
    "/kopilka.v1.MarketingService/CreateList": P.MARKETING_WRITE,
    "/kopilka.v1.MarketingService/PreviewList": P.MARKETING_READ,
    "/kopilka.v1.MarketingService/CreateCampaign": P.MARKETING_WRITE,
    "/kopilka.v1.MarketingService/EstimateCampaign": P.MARKETING_READ,
    "/kopilka.v1.MarketingService/TestSendCampaign": P.MARKETING_SEND,
    "/kopilka.v1.MarketingService/StartCampaign": P.MARKETING_SEND,
    "/kopilka.v1.MarketingService/ChangeCampaignState": P.MARKETING_SEND,
    "/kopilka.v1.MarketingService/GetCampaign": P.MARKETING_READ,
    "/kopilka.v1.MarketingService/ListCampaigns": P.MARKETING_READ,
    "/kopilka.v1.MarketingService/ListCampaignRecipients": P.MARKETING_READ,
    "/kopilka.v1.MarketingService/UpsertTrigger": P.MARKETING_WRITE,
    "/kopilka.v1.MarketingService/SetSmsTariff": P.MARKETING_WRITE,
    "/kopilka.v1.MemberService/RegisterMember": P.MEMBERS_REGISTER,
    "/kopilka.v1.MemberService/GetMember": P.MEMBERS_READ,
    "/kopilka.v1.MemberService/FindMember": P.MEMBERS_READ,
    "/kopilka.v1.MemberService/UpdateMemberProfile": P.MEMBERS_WRITE,
    "/kopilka.v1.MemberService/IssueCard": P.CARDS_MANAGE,
    "/kopilka.v1.MemberService/ChangeCardState": P.CARDS_MANAGE,
    "/kopilka.v1.MemberService/ReplaceCard": P.CARDS_MANAGE,
    "/kopilka.v1.MemberService/ListPurchases": P.MEMBERS_READ,
    "/kopilka.v1.MemberService/SetMemberVip": P.MEMBERS_VIP,
    "/kopilka.v1.CertificateService/IssueCertificate": P.CERTIFICATES_ISSUE,
    "/kopilka.v1.CertificateService/GetCertificate": P.CERTIFICATES_READ,
    "/kopilka.v1.CertificateService/BlockCertificate": P.CERTIFICATES_MANAGE,
    "/kopilka.v1.CertificateService/ReissueCertificate": P.CERTIFICATES_MANAGE,
    "/kopilka.v1.CertificateService/UpsertCertificateType": P.CERTIFICATES_MANAGE,
    "/kopilka.v1.CertificateService/ListCertificateTypes": P.CERTIFICATES_READ,
    "/kopilka.v1.CertificateService/ActivateCertificate": P.CERTIFICATES_ISSUE,
    # Spending a certificate or returning money to it is part of a sale or a return.
    "/kopilka.v1.CertificateService/RedeemCertificate": P.RECEIPTS_CONFIRM,
    "/kopilka.v1.CertificateService/RefundToCertificate": P.RECEIPTS_REFUND,
    "/kopilka.v1.CertificateService/ExpireCertificates": P.CERTIFICATES_MANAGE,
    "/kopilka.v1.CertificateService/GetCertificateUsageReport": P.CERTIFICATES_MANAGE,
    "/kopilka.v1.AdminService/UpsertStore": P.CONFIG_WRITE,
    "/kopilka.v1.AdminService/ListStores": P.CONFIG_READ,
    "/kopilka.v1.AdminService/UpsertCardType": P.CONFIG_WRITE,
    "/kopilka.v1.AdminService/ListCardTypes": P.CONFIG_READ,
    "/kopilka.v1.AdminService/UpsertProducts": P.CATALOG_WRITE,
    "/kopilka.v1.AdminService/ApplyRuleSet": P.PROMOTIONS_WRITE,
    "/kopilka.v1.PromotionService/ListRuleSetVersions": P.PROMOTIONS_READ,
    "/kopilka.v1.PromotionService/GetRuleSet": P.PROMOTIONS_READ,
    "/kopilka.v1.PromotionService/DiffRuleSets": P.PROMOTIONS_READ,
    "/kopilka.v1.PromotionService/RollbackRuleSet": P.PROMOTIONS_WRITE,
    "/kopilka.v1.PromotionService/ApplyBonusRules": P.BONUS_RULES_WRITE,
    "/kopilka.v1.PromotionService/GetBonusRules": P.BONUS_RULES_READ,
    "/kopilka.v1.PromotionService/WhatIf": P.PROMOTIONS_READ,
    # coupons (issue 17)
    "/kopilka.v1.CouponService/IssueCoupon": P.COUPONS_ISSUE,
    "/kopilka.v1.CouponService/IssueCouponBatch": P.COUPONS_ISSUE,
    "/kopilka.v1.CouponService/GetCoupon": P.COUPONS_READ,
    "/kopilka.v1.CouponService/BlockCoupon": P.COUPONS_MANAGE,
    "/kopilka.v1.CouponService/ListCoupons": P.COUPONS_READ,
    "/kopilka.v1.AdminService/CreateApiKey": P.API_KEYS_MANAGE,
    "/kopilka.v1.AdminService/Echo": P.ECHO,
    "/kopilka.v1.AdminService/ListApiKeys": P.API_KEYS_MANAGE,
    "/kopilka.v1.AdminService/RevokeApiKey": P.API_KEYS_MANAGE,
    "/kopilka.v1.AdminService/RotateApiKey": P.API_KEYS_MANAGE,
    "/kopilka.v1.UserService/CreateUser": P.USERS_MANAGE,
    "/kopilka.v1.UserService/ListUsers": P.USERS_MANAGE,
    "/kopilka.v1.UserService/SetUserRoles": P.USERS_MANAGE,
    "/kopilka.v1.UserService/SetPassword": P.USERS_MANAGE,
    "/kopilka.v1.UserService/EnrolTotp": P.USERS_MANAGE,
    "/kopilka.v1.UserService/DisableUser": P.USERS_MANAGE,
    "/kopilka.v1.UserService/Login": P.USERS_LOGIN,
    "/kopilka.v1.UserService/GetSession": P.USERS_LOGIN,
    "/kopilka.v1.UserService/Logout": P.USERS_LOGIN,
    "/kopilka.v1.OrderService/PlaceOrder": P.WEB_ORDERS_PLACE,
    "/kopilka.v1.OrderService/GetOrder": P.WEB_ORDERS_READ,
    "/kopilka.v1.OrderService/ListOrders": P.WEB_ORDERS_READ,
    "/kopilka.v1.OrderService/ConfirmOrder": P.WEB_ORDERS_MANAGE,
    "/kopilka.v1.OrderService/CancelOrder": P.WEB_ORDERS_MANAGE,
    "/kopilka.v1.OrderService/CompleteOrder": P.WEB_ORDERS_MANAGE,
    "/kopilka.v1.OrderService/ChangeLineQuantity": P.WEB_ORDERS_MANAGE,
    "/kopilka.v1.OrderService/ReplaceLine": P.WEB_ORDERS_MANAGE,
    "/kopilka.v1.OrderService/SplitLine": P.WEB_ORDERS_MANAGE,
    "/kopilka.v1.OrderService/CancelLine": P.WEB_ORDERS_MANAGE,
    "/kopilka.v1.OrderService/ReturnLines": P.WEB_ORDERS_MANAGE,
    "/kopilka.v1.OrderService/ExchangeLines": P.WEB_ORDERS_MANAGE,
    "/kopilka.v1.OrderService/GetAvailability": P.WEB_ORDERS_READ,
    "/kopilka.v1.OrderService/AskStores": P.WEB_ORDERS_MANAGE,
    "/kopilka.v1.OrderService/AnswerStoreRequest": P.WEB_ORDERS_ANSWER,
    "/kopilka.v1.OrderService/OfferAlternatives": P.WEB_ORDERS_MANAGE,
    # Stock balances come from 1C (the integrator) like the catalog they belong to.
    "/kopilka.v1.OrderService/SetStock": P.CATALOG_WRITE,
    # Payments (issue 14): legal entities are configuration; payments act on online orders.
    "/kopilka.v1.PaymentService/UpsertLegalEntity": P.CONFIG_WRITE,
    "/kopilka.v1.PaymentService/ListLegalEntities": P.CONFIG_READ,
    "/kopilka.v1.PaymentService/AssignToEntity": P.CONFIG_WRITE,
    "/kopilka.v1.PaymentService/SetOrderPayments": P.WEB_ORDERS_PLACE,
    "/kopilka.v1.PaymentService/GetOrderPayments": P.WEB_ORDERS_READ,
    "/kopilka.v1.PaymentService/CreateCheckout": P.WEB_ORDERS_PLACE,
    "/kopilka.v1.PaymentService/RefundPayment": P.WEB_ORDERS_MANAGE,
    "/kopilka.v1.PaymentService/IssueInvoices": P.WEB_ORDERS_MANAGE,
    "/kopilka.v1.PaymentService/GetInvoicePdf": P.WEB_ORDERS_READ,
    "/kopilka.v1.PaymentService/CreateWaybills": P.WEB_ORDERS_MANAGE,
    "/kopilka.v1.PaymentService/CancelWaybill": P.WEB_ORDERS_MANAGE,
    "/kopilka.v1.PaymentService/ListWaybills": P.WEB_ORDERS_READ,
    "/kopilka.v1.RoleService/ListRoles": P.ROLES_READ,
    "/kopilka.v1.RoleService/UpsertRole": P.ROLES_WRITE,
    "/kopilka.v1.RoleService/DeleteRole": P.ROLES_DELETE,
    "/kopilka.v1.AuditService/ListAudit": P.AUDIT_READ,
    "/kopilka.v1.ImportService/RunImport": P.IMPORTS_RUN,
    "/kopilka.v1.ImportService/UploadImport": P.IMPORTS_RUN,
    "/kopilka.v1.BonusService/ApproveAdjustment": P.BONUS_APPROVE,
    "/kopilka.v1.BonusService/RejectAdjustment": P.BONUS_APPROVE,
    "/kopilka.v1.BonusService/ListPendingAdjustments": P.BONUS_APPROVE,
    "/kopilka.v1.ShoppingService/ReportBasket": P.SHOPPING_REPORT,
    "/kopilka.v1.ShoppingService/MarkBasketOrdered": P.SHOPPING_REPORT,
    "/kopilka.v1.ShoppingService/AddWishlistItem": P.SHOPPING_REPORT,
    "/kopilka.v1.ShoppingService/RemoveWishlistItem": P.SHOPPING_REPORT,
    "/kopilka.v1.ShoppingService/RecordSiteEvents": P.SHOPPING_REPORT,
    "/kopilka.v1.ShoppingService/GetBasket": P.SHOPPING_READ,
    "/kopilka.v1.ShoppingService/ListWishlist": P.SHOPPING_READ,
    "/kopilka.v1.ShoppingService/ListSiteEvents": P.SHOPPING_READ,
    "/kopilka.v1.ShoppingService/GetRecommendations": P.SHOPPING_READ,
    "/kopilka.v1.AppealService/CreateAppeal": P.APPEALS_CREATE,
    "/kopilka.v1.AppealService/GetAppeal": P.APPEALS_READ,
    "/kopilka.v1.AppealService/ListAppeals": P.APPEALS_READ,
    "/kopilka.v1.AppealService/ListAppealTopics": P.APPEALS_READ,
    "/kopilka.v1.AppealService/SearchArticles": P.APPEALS_READ,
    "/kopilka.v1.AppealService/RouteAppeal": P.APPEALS_UPDATE,
    "/kopilka.v1.AppealService/AssignAppeal": P.APPEALS_UPDATE,
    "/kopilka.v1.AppealService/ChangeAppealState": P.APPEALS_UPDATE,
    "/kopilka.v1.AppealService/AddAppealNote": P.APPEALS_UPDATE,
    "/kopilka.v1.AppealService/UpsertArticle": P.APPEALS_UPDATE,
    # social networks (issue 17): accounts and activity are the member's, rules are marketing's
    "/kopilka.v1.SocialService/LinkSocialAccount": P.MEMBERS_WRITE,
    "/kopilka.v1.SocialService/UnlinkSocialAccount": P.MEMBERS_WRITE,
    "/kopilka.v1.SocialService/ListSocialActivity": P.MEMBERS_READ,
    "/kopilka.v1.SocialService/UpsertSocialRule": P.MARKETING_WRITE,
    "/kopilka.v1.SocialService/ListSocialRules": P.MARKETING_READ,
    "/kopilka.v1.SocialService/DeleteSocialRule": P.MARKETING_WRITE,
    # Topics route and time the work: program settings, like stores and card types.
    "/kopilka.v1.AppealService/UpsertAppealTopic": P.CONFIG_WRITE,
    # Goodwill points are manual points: the same right, caps and approval as AdjustPoints.
    "/kopilka.v1.AppealService/GrantAppealGoodwill": P.BONUS_ADJUST,
    # The member's own appeals (web cabinet), without internal notes: part of the member's
    # record like their purchases.
    "/kopilka.v1.AppealService/ListMemberAppeals": P.MEMBERS_READ,
    # Surveys (issue 17). A member's completed surveys are part of their record.
    "/kopilka.v1.SurveyService/GetSurveyResults": P.SURVEYS_READ,
    "/kopilka.v1.SurveyService/GetSurvey": P.SURVEYS_READ,
    "/kopilka.v1.SurveyService/IssueSurveyInvitation": P.SURVEYS_INVITE,
    "/kopilka.v1.SurveyService/SaveSurvey": P.SURVEYS_WRITE,
    "/kopilka.v1.SurveyService/ListMemberSurveys": P.MEMBERS_READ,
}

# Services anyone may call without a key: load balancers and tooling need them.
PUBLIC_SERVICE_PREFIXES = ("/grpc.health.v1.Health/", "/grpc.reflection.")
