"""One settings class, read from the environment (and an optional `.env`)."""

from __future__ import annotations

import ipaddress
import os
import secrets
from functools import lru_cache

from limits import RateLimitItem, parse_many
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def _usable_cpus() -> int:
    """CPUs this process may run on (a container's cpuset), not all the host's."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    mongodb_uri: str | None = Field(
        default=None, description="Real MongoDB to use; unset means the embedded in-memory store."
    )
    mongodb_db: str = "challenge_run"
    # how long a database call waits for a reachable server before failing (/ready: 503)
    mongodb_server_selection_timeout_ms: int = Field(default=5000, ge=100, le=120_000)
    secret_key: SecretStr | None = Field(
        default=None, description="JWT signing key; required with MONGODB_URI."
    )
    access_token_minutes: int = Field(default=60, ge=1)
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    # POST /runs/import: the uploaded activity file (the one route whose body may exceed
    # max_body_bytes), and what a gzip-compressed file may inflate to
    max_upload_bytes: int = Field(default=25 * 1024 * 1024, ge=1024)
    max_decompressed_bytes: int = Field(default=200 * 1024 * 1024, ge=1024)
    cors_origins: str = ""
    admin_email: str | None = None
    admin_password: SecretStr | None = None
    demo_data: bool | None = Field(
        default=None, description="Load demo data at startup; default true only when embedded."
    )
    demo_seed: int = 42
    # argon2id cost; the defaults are argon2-cffi's (about 200 ms a hash on our machines)
    argon2_time_cost: int = Field(default=3, ge=1)
    argon2_memory_cost: int = Field(default=65536, ge=8)
    argon2_parallelism: int = Field(default=4, ge=1)
    # failed logins (and wrong current_passwords) per (account, client IP) within the window
    login_max_failures: int = Field(default=5, ge=1, le=1000)
    login_window_minutes: int = Field(default=15, ge=1)
    # ...and per account across all IPs: a ceiling against guessing from many addresses
    login_account_max_failures: int = Field(default=100, ge=1, le=10000)
    # argon2 runs at most this many at once; beyond this many waiting, logins get 503
    hash_concurrency: int = Field(default_factory=lambda: _usable_cpus(), ge=1, le=256)
    hash_queue: int | None = Field(default=None, ge=0, description="Default: 4 × concurrency.")
    # `limits` notation ("10/minute", "5/second;100/hour"), moving windows
    rate_limit_auth: str = "10/minute"
    rate_limit_writes: str = "120/minute"
    # GET /users/me/export per user: an archive of everything a user has is expensive
    rate_limit_export: str = "5/hour"
    # documents read per round trip by the export (its memory follows this, not the user's data)
    export_batch_size: int = Field(default=500, ge=1, le=10_000)
    trusted_proxies: str = Field(
        default="", description="IPs/CIDRs whose X-Forwarded-For is believed (comma-separated)."
    )
    # anti-spam caps per user (admins are exempt): custom teams owned, invitations sent a UTC day
    max_teams_owned: int = Field(default=10, ge=1)
    max_invitations_per_day: int = Field(default=50, ge=1)
    # reports sent a UTC day (service.reports; admins are exempt)
    max_reports_per_day: int = Field(default=20, ge=1)
    # how often the background job creates the next instance of ended recurring challenges
    challenge_recurrence_interval_s: float = Field(default=60.0, gt=0, le=86_400)
    # XP credited for a weekly goal met (once per goal and ISO week)
    goal_xp: int = Field(default=50, ge=0, le=10_000)
    # GET /feed reads at most this many of the caller's follows (the most recent): follows are
    # not capped, and the feed's one query takes every author in one `$in`
    feed_max_follows: int = Field(default=1000, ge=0, le=10_000)
    log_level: str = "INFO"

    @field_validator("rate_limit_auth", "rate_limit_writes", "rate_limit_export")
    @classmethod
    def _limits_notation(cls, value: str) -> str:
        try:
            items = parse_many(value)
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a rate limit like '10/minute'") from exc
        if any(item.amount < 1 for item in items):
            raise ValueError(f"{value!r}: a rate limit allows at least 1 request")
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_networks(cls, value: str) -> str:
        for part in value.split(","):
            if part.strip():
                try:
                    ipaddress.ip_network(part.strip(), strict=False)
                except ValueError as exc:
                    raise ValueError(f"TRUSTED_PROXIES: {part.strip()!r} is no IP or CIDR") from exc
        return value

    @model_validator(mode="after")
    def _admin_account_is_complete(self) -> Settings:
        email = self.admin_email or None
        password = self.admin_password.get_secret_value() if self.admin_password else None
        if bool(email) != bool(password):
            raise ValueError("ADMIN_EMAIL and ADMIN_PASSWORD must be set together")
        if password is not None and not 8 <= len(password) <= 128:
            raise ValueError("ADMIN_PASSWORD must be 8 to 128 characters")
        return self

    @model_validator(mode="after")
    def _secret_key_for_real_databases(self) -> Settings:
        if self.mongodb_uri == "":
            self.mongodb_uri = None
        if self.mongodb_uri and not (self.secret_key and self.secret_key.get_secret_value()):
            raise ValueError("SECRET_KEY must be set when MONGODB_URI is set")
        if self.secret_key and 0 < len(self.secret_key.get_secret_value().encode()) < 32:
            # RFC 7518 §3.2: an HS256 key has at least 256 bits; PyJWT warns on every token
            # signed or checked with a shorter one.
            raise ValueError("SECRET_KEY must be at least 32 bytes long")
        if not self.secret_key or not self.secret_key.get_secret_value():
            # Embedded mode: a random per-process key; tokens die with the process, like the data.
            self.secret_key = SecretStr(secrets.token_urlsafe(32))
        return self

    @property
    def embedded(self) -> bool:
        return not self.mongodb_uri

    @property
    def load_demo(self) -> bool:
        return self.embedded if self.demo_data is None else self.demo_data

    @property
    def cors_origin_list(self) -> list[str]:
        return [o.strip() for o in self.cors_origins.split(",") if o.strip()]

    @property
    def hash_queue_size(self) -> int:
        return 4 * self.hash_concurrency if self.hash_queue is None else self.hash_queue

    @property
    def auth_limits(self) -> list[RateLimitItem]:
        return parse_many(self.rate_limit_auth)

    @property
    def write_limits(self) -> list[RateLimitItem]:
        return parse_many(self.rate_limit_writes)

    @property
    def export_limits(self) -> list[RateLimitItem]:
        return parse_many(self.rate_limit_export)

    @property
    def jwt_key(self) -> str:
        assert self.secret_key is not None
        return self.secret_key.get_secret_value()


@lru_cache
def get_settings() -> Settings:
    return Settings()
