"""Settings from the environment (KOPILKA_*), so one binary serves every deployment."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
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
    grpc_listen: str = Field(default="127.0.0.1:50051", description="host:port of the gRPC API.")
    metrics_listen: str = Field(
        default="127.0.0.1:9464", description="host:port of the Prometheus /metrics endpoint."
    )
    workers: int = Field(default=1, ge=1, le=64, description="Server processes sharing the port.")
    currency: str = Field(default="UAH", min_length=3, max_length=3)
    default_region: str = Field(default="UA", description="Region for phones without +code.")
    log_level: str = "INFO"
    log_format: str = Field(default="json", pattern="^(json|text)$")
    db_pool_size: int = Field(default=10, ge=1)
    api_key_cache_seconds: float = Field(
        default=30.0, ge=0, description="How long a verified API key is trusted without the DB."
    )
    shutdown_grace_seconds: float = 5.0


def split_host_port(listen: str) -> tuple[str, int]:
    """'127.0.0.1:50051' -> ('127.0.0.1', 50051); '[::1]:0' works too."""
    host, _, port = listen.rpartition(":")
    return host.strip("[]") or "127.0.0.1", int(port)
