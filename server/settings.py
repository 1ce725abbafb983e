"""Settings from the environment (KOPILKA_*), so one binary serves every deployment."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob of the server; tests build their own instead of touching the environment."""

    model_config = SettingsConfigDict(env_prefix="KOPILKA_", env_file=None, extra="ignore")

    database_url: str | None = Field(
        default=None,
        description="postgresql:// URL; when unset an embedded PostgreSQL is started in data_dir.",
    )
    data_dir: Path = Field(
        default=Path(".kopilka"), description="Where the embedded PostgreSQL keeps its files."
    )
    import_dir: Path | None = Field(
        default=None, description="ImportService.RunImport reads files only under this "
        "directory (no '..', no symlink out of it); unset: RunImport is refused.")
    grpc_listen: str = Field(default="127.0.0.1:50051", description="host:port of the gRPC API.")
    # --- TLS on the gRPC port (issue 10); all empty: plaintext, for 127.0.0.1 development --
    tls_cert_file: Path | None = Field(
        default=None, description="PEM certificate chain of the gRPC port; with tls_key_file "
        "the port speaks TLS only.")
    tls_key_file: Path | None = Field(default=None, description="PEM private key of that cert.")
    tls_client_ca_file: Path | None = Field(
        default=None, description="PEM CA(s): when set, every client must present a certificate "
        "signed by one of them (mTLS, for terminals).")
    metrics_listen: str = Field(
        default="127.0.0.1:9464", description="host:port of the Prometheus /metrics endpoint."
    )
    http_listen: str = Field(
        default="", description="host:port for plugins' HTTP endpoints (1C exchange at "
        "/1c_exchange); empty: no HTTP listener."
    )
    console_enabled: bool = Field(
        default=True, description="Serve the operator console at /console on "
        "KOPILKA_HTTP_LISTEN.")
    console_secure_cookies: bool = Field(
        default=False, description="Mark the console's cookies Secure even on plain HTTP "
        "(behind a TLS proxy); they are Secure anyway when the request came over TLS.")
    console_sms_cost_minor: int = Field(
        default=0, ge=0, description="What one SMS costs, in minor units, for the console's "
        "dashboard.")
    orders_public_url: str = Field(
        default="", description="Where customers reach the HTTP site (e.g. https://shop.example"
        ".com), for the links of online orders (alternatives); empty: links are paths.")
    invoice_link_days: int = Field(
        default=30, ge=1, le=3650,
        description="How long an invoice's download link works (days); an expired link "
        "answers 410 and IssueInvoices gives a fresh one (docs/payments.md).")
    telephony_secret: str = Field(
        default="", description="Shared secret of the PBX's incoming-call hook "
        "(POST /hooks/telephony/call, HMAC-SHA256 signed: docs/appeals.md); empty: no hook.")
    telephony_topic: str = Field(
        default="", description="Appeal topic of calls the hook registers (empty: routed "
        "later by an operator).")
    meta_app_secret: str = Field(
        default="", description="Meta app secret: the key of X-Hub-Signature-256 on "
        "/hooks/meta (docs/social.md); empty (or no verify token): no hook.")
    meta_verify_token: str = Field(
        default="", description="The Verify Token entered in Meta's App Dashboard, echoed "
        "by the hub.challenge handshake on GET /hooks/meta.")
    workers: int = Field(default=1, ge=1, le=64, description="Server processes sharing the port.")
    currency: str = Field(default="UAH", min_length=3, max_length=3)
    default_region: str = Field(default="UA", description="Region for phones without +code.")
    log_level: str = "INFO"
    log_format: str = Field(default="json", pattern="^(json|text)$")
    db_pool_size: int = Field(default=10, ge=1)
    db_connect_timeout_seconds: float = Field(
        default=5.0, gt=0, description="How long opening a database connection may take before "
        "the call answers UNAVAILABLE (DATABASE_UNAVAILABLE).")
    db_statement_timeout_seconds: float = Field(
        default=15.0, gt=0, description="How long one SQL statement may run (PostgreSQL's "
        "statement_timeout, and the client's wait for a hung server) before the call answers "
        "UNAVAILABLE.")
    api_key_cache_seconds: float = Field(
        default=30.0, ge=0, description="How long a verified API key is trusted without the DB."
    )
    api_key_negative_cache_seconds: float = Field(
        default=5.0, ge=0, description="How long an unknown API key is refused without asking "
        "the DB again (a key created meanwhile works after that); 0 = always ask.")
    shutdown_grace_seconds: float = 5.0
    # --- people and keys (issue 12) ------------------------------------------------------
    api_key_rotation_grace_seconds: float = Field(
        default=86400.0, ge=0, le=30 * 86400, description="How long RotateApiKey keeps the old "
        "secret working when the request names no grace period.")
    users_password_min_length: int = Field(
        default=12, ge=8, le=256, description="Shortest password an operator user may have.")
    users_max_failed_logins: int = Field(
        default=5, ge=1, description="Failed logins in a row that lock a user out.")
    users_lockout_seconds: int = Field(
        default=900, ge=1, description="How long a locked-out user's logins are refused.")
    users_session_ttl_seconds: int = Field(
        default=8 * 3600, ge=60, description="A console session's longest life.")
    users_session_idle_seconds: int = Field(
        default=1800, ge=60, description="A console session ends when unused this long.")
    users_totp_issuer: str = Field(
        default="Kopilka", min_length=1, description="Issuer shown by authenticator apps.")
    lookup_rate_per_minute: int = Field(
        default=300, ge=0, description="FindMember, GetMember, ListPurchases, GetBalance and "
        "GetCertificate calls per API key per minute, per worker; 0 = unlimited.")
    auth_failures_per_minute: int = Field(
        default=30, ge=0, description="Calls without a valid API key per peer address per "
        "minute, per worker, before the address is refused for a while; 0 = unlimited.")

    # --- plugins and outbox (issue 6) ---------------------------------------------------
    smpp_host: str = Field(default="", description="SMSC host; empty disables the SMS channel.")
    smpp_port: int = Field(default=2775, ge=1, le=65535)
    smpp_system_id: str = ""
    smpp_password: str = ""
    smpp_source_addr: str = Field(default="Kopilka", description="Sender name or number.")
    smtp_host: str = Field(default="", description="SMTP host; empty disables e-mail.")
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_sender: str = Field(default="", description="From address, e.g. Kopilka <no@x.ua>.")
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_use_tls: bool = False
    smtp_start_tls: bool | None = None
    demo_mode: bool = Field(
        default=False, description="Set by `kopilka serve --demo-data`: with no SMSC configured "
        "the development SMS channel (plugins/devsms) shows messages on the terminal.")
    dev_sms: bool = Field(
        default=False, description="The development SMS channel outside demo mode too: it "
        "sends nothing and shows one-time codes on the terminal, so never in production.")
    plugin_settings: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="JSON: extra per-plugin sections, merged over the smpp_/smtp_ fields.",
    )
    outbox_enabled: bool = Field(default=True, description="Run the outbox dispatcher.")
    outbox_poll_seconds: float = Field(default=1.0, gt=0)
    outbox_batch_size: int = Field(default=20, ge=1, le=1000)
    outbox_max_attempts: int = Field(default=8, ge=1)
    outbox_backoff_seconds: float = Field(default=5.0, gt=0, description="First retry delay.")
    outbox_backoff_max_seconds: float = Field(default=900.0, gt=0)
    outbox_lease_seconds: float = Field(
        default=120.0, gt=0, description="A claimed row is retried if not settled by then.")
    # --- marketing (issue 16) ------------------------------------------------------------
    marketing_quiet_start: str = Field(default="21:00", description="Member's local time "
                                       "marketing messages stop (HH:MM).")
    marketing_quiet_end: str = Field(default="09:00", description="...and start again.")
    marketing_daily_cap: int = Field(default=3, ge=0, description="Marketing messages per "
                                     "member in any 24 hours; 0 = no cap.")
    marketing_time_zone: str = Field(default="Europe/Kyiv", description="Time zone of "
                                     "members who have not set one.")
    marketing_language: str = Field(default="uk", description="Language of members who "
                                    "have not set one.")
    marketing_public_url: str = Field(default="http://127.0.0.1:8080", description="Base URL "
                                      "of the HTTP site in unsubscribe links.")
    marketing_channel_rates: dict[str, float] = Field(
        default_factory=lambda: {"sms": 20.0, "email": 50.0, "viber": 20.0},
        description="JSON: campaign messages per second per channel.")
    verification_code_ttl_seconds: int = Field(default=300, ge=10)
    verification_max_attempts: int = Field(default=3, ge=1, le=10)
    verification_phone_limit: int = Field(default=3, ge=1, description="Codes per phone/window.")
    verification_phone_window_seconds: int = Field(default=900, ge=1)
    verification_terminal_limit: int = Field(default=30, ge=1)
    verification_terminal_window_seconds: int = Field(default=900, ge=1)
    verification_token_ttl_seconds: int = Field(
        default=300, ge=10, le=3600,
        description="How long a VerifySMS token may be spent (once) after the code matched.")
    jobs_interval_seconds: float = Field(
        default=300.0, ge=0,
        description="Points lots activation/expiry, event points, certificate expiry; 0 = off.",
    )
    # --- shopping (baskets, wishlists, footprint, recommendations; docs/shopping.md) ---
    abandoned_basket_minutes: int = Field(
        default=60, ge=1, le=525_600,
        description="A basket reported and not ordered for this long raises basket.abandoned "
        "(once per basket; the jobs pass finds them).")
    site_events_retention_days: int = Field(
        default=90, ge=1, le=3650,
        description="Site events (views, searches, basket changes) older than this are deleted.")
    recommendations_window_days: int = Field(
        default=180, ge=1, le=3650,
        description="Confirmed receipts of this many days count for 'bought together'.")
    recommendations_min_pairs: int = Field(
        default=2, ge=1, description="Fewest receipts with both products for a pair to count.")
    recommendations_refresh_minutes: int = Field(
        default=60, ge=0,
        description="How often the jobs pass recomputes the pairs; 0: on every pass.")
    pricing_refresh_seconds: float = Field(
        default=2.0, gt=0, description="How often a worker checks for new rules or catalog."
    )
    roles_refresh_seconds: float = Field(
        default=5.0, gt=0, description="How often a worker reloads roles: a role changed "
        "through another worker or the CLI applies within this time.",
    )

    # --- manual money (issue 12): AdjustPoints and TopUpCashAccount --------------------
    manual_points_approval_threshold: int = Field(
        default=100_000, ge=0, description="AdjustPoints of more points than this (either "
        "sign) waits for a second principal's ApproveAdjustment; 0 = never waits.")
    manual_cash_approval_threshold_minor: int = Field(
        default=500_000, ge=0, description="TopUpCashAccount of more minor units than this "
        "waits for a second principal's ApproveAdjustment; 0 = never waits.")
    manual_daily_caps: dict[str, dict[str, int]] = Field(
        default_factory=lambda: {"operator": {"points": 500_000, "cash_minor": 5_000_000}},
        description="JSON: role -> {points, cash_minor}: the most one key may change by hand "
        "per UTC day (pending requests count). A key gets its roles' largest cap; a role "
        "without an entry (admin by default) has no cap, and neither has its key.")

    @field_validator("manual_daily_caps")
    @classmethod
    def _caps_known(cls, value: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
        """Only points and cash_minor caps, never negative: a typo must not lift a cap."""
        for role, caps in value.items():
            for kind, cap in caps.items():
                if kind not in ("points", "cash_minor") or cap < 0:
                    raise ValueError(f"manual_daily_caps[{role!r}]: {kind!r} must be points "
                                     "or cash_minor with a cap >= 0")
        return value

    @field_validator("tls_cert_file", "tls_key_file", "tls_client_ca_file", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        """KOPILKA_TLS_CERT_FILE= (empty) means no TLS, not the current directory."""
        return None if value == "" else value


def split_host_port(listen: str) -> tuple[str, int]:
    """'127.0.0.1:50051' -> ('127.0.0.1', 50051); '[::1]:0' works too."""
    host, _, port = listen.rpartition(":")
    return host.strip("[]") or "127.0.0.1", int(port)
