"""Configuration: embedded defaults, then instance/config.py, then environment variables."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from directory.files import prepare_sqlite_file, write_private_text

ENV_KEYS = (
    "DATABASE_URL",
    "SEARCH_INDEX_DIR",
    "SECRET_KEY",
    "RATELIMIT_STORAGE_URI",
    "LOGIN_RATE_LIMIT",
    "SESSION_COOKIE_SECURE",
    "GEOCODER",
    "DEMO_PASSWORD",
    "SESSION_IDLE_TIMEOUT",
    "TRUSTED_PROXY_COUNT",
    "GEOCODER_USER_AGENT",
    "GEOCODER_DOMAIN",
    "GEOCODER_SCHEME",
    "GEOCODER_TIMEOUT",
    "GEOCODER_MIN_DELAY",
    "GEOCODER_OPTIONS",
    "REPORT_MIN_CLIENTS",
    "OVERRIDE_MAX_DAYS",
    "PUBLIC_BASE_URL",
    "SMTP_HOST",
    "SMTP_PORT",
    "SMTP_SECURITY",
    "SMTP_USERNAME",
    "SMTP_PASSWORD",
    "MAIL_FROM",
    "NOTIFY_WEBHOOK_URL",
    "NOTIFY_TIMEOUT",
    "NOTIFY_MAX_ATTEMPTS",
    "NOTIFY_AFTER_COMMIT",
    "UNANSWERED_AFTER_DAYS",
    "ANSWER_LINK_DAYS",
    "SHARED_LIST_DAYS",
)

INT_KEYS = (
    "SESSION_IDLE_TIMEOUT",
    "TRUSTED_PROXY_COUNT",
    "REPORT_MIN_CLIENTS",
    "OVERRIDE_MAX_DAYS",
    "SMTP_PORT",
    "NOTIFY_MAX_ATTEMPTS",
    "UNANSWERED_AFTER_DAYS",
    "ANSWER_LINK_DAYS",
    "SHARED_LIST_DAYS",
)
FLOAT_KEYS = ("GEOCODER_TIMEOUT", "GEOCODER_MIN_DELAY", "NOTIFY_TIMEOUT")
BOOL_KEYS = ("SESSION_COOKIE_SECURE", "NOTIFY_AFTER_COMMIT")
JSON_KEYS = ("GEOCODER_OPTIONS",)


class DefaultConfig:
    SQLALCHEMY_DATABASE_URI: str | None = None  # set from the instance path when empty
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    SEARCH_INDEX_DIR: str | None = None
    SECRET_KEY: str | None = None
    WTF_CSRF_TIME_LIMIT = 8 * 3600
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    PERMANENT_SESSION_LIFETIME = 8 * 3600
    SESSION_IDLE_TIMEOUT = 8 * 3600  # seconds without a request after which a login ends
    BABEL_DEFAULT_LOCALE = "zh"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    LANGUAGES = ("zh", "en")
    TIMEZONE = "Asia/Shanghai"
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    LOGIN_RATE_LIMIT = "10 per minute"
    # Proxies in front of the app (nginx: 1) whose X-Forwarded-For / -Proto are believed; 0 trusts none.
    TRUSTED_PROXY_COUNT = 0
    PER_PAGE = 20
    # A supervisor's referral without the client's consent holds at most this many days (the default end).
    OVERRIDE_MAX_DAYS = 30
    STALE_AFTER_DAYS = 365
    SHARED_LIST_DAYS = 30  # how long the link of a list a client keeps works
    REPORT_MIN_CLIENTS = 5  # a report selection about fewer clients shows no figure (small-cell rule)
    SEED_DIR: str | None = None
    # Place names the gazetteer does not know can be looked up online (docs/operations.md, "Online geocoding").
    GEOCODER = "offline"
    GEOCODER_USER_AGENT: str | None = None  # required by Nominatim's usage policy
    GEOCODER_DOMAIN: str | None = None  # Nominatim: default nominatim.openstreetmap.org
    GEOCODER_SCHEME: str | None = None  # Nominatim: https (default) or http
    GEOCODER_TIMEOUT: float | None = None  # seconds, default 5
    GEOCODER_MIN_DELAY: float | None = None  # seconds between requests, at least 1
    GEOCODER_OPTIONS: dict | None = None  # other geopy services: their constructor's arguments
    DEMO_PASSWORD: str | None = None
    PASSWORD_HASH_METHOD = "scrypt"  # noqa: S105 (a hash method, not a password)
    # Notifications (docs/notifications.md): each channel beyond the app is optional.
    PUBLIC_BASE_URL: str | None = None  # https://lianjie.example.org: the links in e-mails and webhooks
    SMTP_HOST: str | None = None  # no host: no e-mail
    SMTP_PORT: int | None = None  # default 25, 465 with ssl, 587 with starttls
    SMTP_SECURITY = "none"  # none | starttls | ssl
    SMTP_USERNAME: str | None = None
    SMTP_PASSWORD: str | None = None
    MAIL_FROM: str | None = None
    NOTIFY_WEBHOOK_URL: str | None = None  # POST JSON (a WeCom group robot's URL, for example)
    NOTIFY_TIMEOUT = 10.0  # seconds for one SMTP or webhook exchange
    NOTIFY_MAX_ATTEMPTS = 12  # tries of one delivery before it is marked failed
    NOTIFY_AFTER_COMMIT = True  # a background thread sends right after a commit that queued something
    UNANSWERED_AFTER_DAYS = 3  # a referral without an answer this long reminds the agency and the caseworker
    ANSWER_LINK_DAYS = 7  # how long the agency's answer-by-link stays valid


def _env_value(key: str, raw: str) -> object:
    if key in BOOL_KEYS:
        return raw.lower() in {"1", "true", "yes", "on"}
    if key in FLOAT_KEYS:
        try:
            return float(raw)
        except ValueError:
            raise RuntimeError(f"{key} must be a number of seconds, not {raw!r}") from None
    if key in JSON_KEYS:
        try:
            value = json.loads(raw)
        except ValueError:
            value = None
        if not isinstance(value, dict):
            raise RuntimeError(f'{key} must be a JSON object such as {{"api_key": "…"}}, not {raw!r}')
        return value
    if key in INT_KEYS:
        try:
            return int(raw)
        except ValueError:
            raise RuntimeError(f"{key} must be a whole number, not {raw!r}") from None
    return raw


def load_config(app, overrides: dict | None = None) -> None:
    """Fill ``app.config``: defaults → instance/config.py → environment → explicit overrides."""
    app.config.from_object(DefaultConfig)
    app.config.from_pyfile("config.py", silent=True)
    for key in ENV_KEYS:
        if key in os.environ:
            target = "SQLALCHEMY_DATABASE_URI" if key == "DATABASE_URL" else key
            app.config[target] = _env_value(key, os.environ[key])
    if overrides:
        app.config.update(overrides)
    proxies = app.config.get("TRUSTED_PROXY_COUNT")
    if not isinstance(proxies, int) or isinstance(proxies, bool) or proxies < 0:
        raise RuntimeError(f"TRUSTED_PROXY_COUNT must be a whole number, 0 or more, not {proxies!r}")
    days = app.config.get("OVERRIDE_MAX_DAYS")
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 366:
        raise RuntimeError(f"OVERRIDE_MAX_DAYS must be a whole number of days from 1 to 366, not {days!r}")
    days = app.config.get("SHARED_LIST_DAYS")
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 366:
        raise RuntimeError(f"SHARED_LIST_DAYS must be a whole number of days from 1 to 366, not {days!r}")

    _check_notification_config(app.config)

    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{instance / 'lianjie.sqlite3'}"
    if not app.config.get("SEARCH_INDEX_DIR"):
        app.config["SEARCH_INDEX_DIR"] = str(instance / "search-index")
    if not app.config.get("SEED_DIR"):
        app.config["SEED_DIR"] = str(Path(app.root_path).parent / "seed_data")
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(instance)
    prepare_sqlite_file(app.config["SQLALCHEMY_DATABASE_URI"])


def _check_notification_config(config) -> None:
    """Refuse to start with a notification setting that would only fail later, at the first delivery."""
    if config.get("SMTP_SECURITY") not in ("none", "starttls", "ssl"):
        raise RuntimeError(f"SMTP_SECURITY must be none, starttls or ssl, not {config.get('SMTP_SECURITY')!r}")
    if config.get("SMTP_HOST") and not config.get("MAIL_FROM"):
        raise RuntimeError("MAIL_FROM must be set when SMTP_HOST is (the sender of the notification e-mails)")
    for key in ("NOTIFY_WEBHOOK_URL", "PUBLIC_BASE_URL"):
        value = config.get(key)
        if value and not str(value).startswith(("http://", "https://")):
            raise RuntimeError(f"{key} must start with http:// or https://, not {value!r}")
    for key in ("UNANSWERED_AFTER_DAYS", "ANSWER_LINK_DAYS", "NOTIFY_MAX_ATTEMPTS"):
        value = config.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 366:
            raise RuntimeError(f"{key} must be a whole number from 1 to 366, not {value!r}")


def _instance_secret(instance: Path) -> str:
    """A per-installation secret kept in instance/ (never in the repository)."""
    path = instance / "secret_key"
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_hex(32)
    write_private_text(path, key)
    return key
