"""Typed settings: one model, loaded once from TOML with env overrides, validated strictly.

Order of precedence (highest first): environment variables ``CSBOT_<SECTION>__<KEY>``,
the TOML file (``--config``, ``CSBOT_CONFIG`` or ``./config.toml``), built-in defaults.
Unknown keys are an error: a typo in a config file must not silently fall back to a default.
"""

from __future__ import annotations

import datetime as dt
import os
import tomllib
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict


class ConfigError(Exception):
    """A configuration problem, with a message meant for the operator."""


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GeneralSettings(Section):
    timezone: str = "Asia/Shanghai"
    data_dir: str = "./csbot-data"
    # "text" (one line per record) or "json" (one JSON object per line, with the request id): bot.logs.
    log_format: Literal["text", "json"] = "text"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {value!r}") from exc
        return value


class DatabaseSettings(Section):
    url: str = "sqlite:///./csbot.db"
    echo: bool = False


class ServerSettings(Section):
    host: str = "127.0.0.1"
    port: int = 8080
    public_base_url: str = ""
    chart_url_ttl_seconds: int = 3600
    chart_signing_key: SecretStr = SecretStr("")
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    # On SIGTERM: how long running commands (and their replies) may take before they are cancelled.
    shutdown_grace_seconds: int = Field(default=30, ge=0)
    # Commands in flight per replica (running or waiting); past it a callback is refused per vendor
    # (WeCom, Feishu: 503, they redeliver; DingTalk: 200 and a short 稍后 reply). docs/reliability.md
    max_pending_commands: int = Field(default=200, ge=1)
    # Inbox rows (accepted messages, the de-duplication key) are deleted after this many days.
    inbox_retention_days: int = Field(default=7, ge=1)
    # A replica's claim on the inbox rows it is answering; a killed replica's rows are answered after it.
    inbox_lease_seconds: float = Field(default=60.0, gt=0)
    # GET /metrics requires "Authorization: Bearer <metrics_token>" when set (empty: open, as on a private port).
    metrics_token: SecretStr = SecretStr("")
    # How often each replica looks at the leader lock (bot.jobs.leader); capped at the shortest job interval.
    leader_poll_seconds: float = Field(default=5.0, gt=0)


class DingTalkRobot(Section):
    name: str
    webhook: SecretStr
    secret: SecretStr = SecretStr("")
    keywords: list[str] = Field(default_factory=list)


class DingTalkSettings(Section):
    app_key: str = ""
    app_secret: SecretStr = SecretStr("")
    robot_code: str = ""
    mode: Literal["http", "stream"] = "http"
    api_base: str = "https://api.dingtalk.com"
    oapi_base: str = "https://oapi.dingtalk.com"
    # Robot callbacks are a few KB; anything larger is refused with 413 before it is parsed.
    callback_max_bytes: int = Field(default=65_536, ge=1024)
    robots: list[DingTalkRobot] = Field(default_factory=list)


class WeComRobot(Section):
    name: str
    # Full group-robot URL https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=... (the key is the secret).
    webhook: SecretStr


class WeComSettings(Section):
    corp_id: str = ""
    token: SecretStr = SecretStr("")
    encoding_aes_key: SecretStr = SecretStr("")
    agent_id: int = 0
    secret: SecretStr = SecretStr("")
    api_base: str = "https://qyapi.weixin.qq.com"
    # Callbacks whose timestamp is further than this from our clock are rejected (replay defence).
    timestamp_tolerance_seconds: int = Field(default=300, ge=30)
    callback_max_body_bytes: int = Field(default=65_536, ge=1024)
    robots: list[WeComRobot] = Field(default_factory=list)


class FeishuRobot(Section):
    name: str
    # Full custom-bot URL https://open.feishu.cn/open-apis/bot/v2/hook/<token> (the token is the secret).
    webhook: SecretStr
    secret: SecretStr = SecretStr("")
    # Keyword security mode: every message must contain one of these; the first is prepended if missing.
    keywords: list[str] = Field(default_factory=list)


class FeishuSettings(Section):
    app_id: str = ""
    app_secret: SecretStr = SecretStr("")
    verification_token: SecretStr = SecretStr("")
    encrypt_key: SecretStr = SecretStr("")
    api_base: str = "https://open.feishu.cn"
    timestamp_tolerance_seconds: int = Field(default=300, ge=30)
    callback_max_body_bytes: int = Field(default=65_536, ge=1024)
    robots: list[FeishuRobot] = Field(default_factory=list)


class DeliveryMute(Section):
    # fnmatch pattern over destination keys "platform:kind:target", e.g. "wecom:robot:*".
    destination: str
    # Optional daily window in [general].timezone, "HH:MM"; both empty = muted all day.
    start: str = ""
    end: str = ""
    reason: str = ""

    @field_validator("start", "end")
    @classmethod
    def _hh_mm(cls, value: str) -> str:
        if value:
            hours, _, minutes = value.partition(":")
            if not (hours.isdigit() and minutes.isdigit() and int(hours) < 24 and int(minutes) < 60
                    and len(minutes) == 2):
                raise ValueError(f"expected HH:MM, got {value!r}")
        return value


class DeliveryRateLimit(Section):
    platform: Literal["dingtalk", "wecom", "feishu"]
    count: int = Field(ge=1)
    per_seconds: float = Field(gt=0)


class DeliverySettings(Section):
    max_attempts: int = Field(default=8, ge=1)
    backoff_base_seconds: float = Field(default=2.0, gt=0)
    backoff_max_seconds: float = Field(default=600.0, gt=0)
    jitter: float = Field(default=0.2, ge=0, le=1)
    max_age_hours: float = Field(default=24.0, gt=0)
    dedup_window_seconds: int = Field(default=86_400, ge=0)
    poll_seconds: float = Field(default=30.0, gt=0)
    retention_days: int = Field(default=30, ge=1)
    # A replica claims a row before sending it; another replica may take it over after this long.
    claim_lease_seconds: float = Field(default=120.0, gt=0)
    mutes: list[DeliveryMute] = Field(default_factory=list)
    # Replace the built-in per-destination limits of a platform (DingTalk 20/min, WeCom 20/min,
    # Feishu 5/s and 100/min); all rows of one platform apply together.
    rate_limits: list[DeliveryRateLimit] = Field(default_factory=list)


class IngestSettings(Section):
    tokens: list[SecretStr] = Field(default_factory=list)
    max_batch: int = 5000
    # POST /api/v1/events: batches written at once (own threads, apart from the callbacks' ack path)
    # and batches allowed to wait; past both the API answers 429 + Retry-After (bench/server/README.md).
    workers: int = Field(default=2, ge=1)
    max_waiting_batches: int = Field(default=200, ge=0)


class AccessSettings(Section):
    # Group chats that may use the bot (bare id or "platform:id"; empty = every chat).
    allowed_chats: list[str] = Field(default_factory=list)
    # Users allowed anywhere and for admin-only commands.
    admins: list[str] = Field(default_factory=list)
    allow_private: bool = True
    # Users who may use the bot in 1:1 chats (empty = everyone who can reach it).
    allowed_users: list[str] = Field(default_factory=list)
    sensitive_commands: list[str] = Field(default_factory=lambda: ["客服"])
    sensitive_chats: list[str] = Field(default_factory=list)
    user_rate_per_minute: int = Field(default=20, ge=0)
    user_burst: int = Field(default=5, ge=1)


def _check_hh_mm(value: str) -> str:
    hours, _, minutes = value.partition(":")
    if not (hours.isdigit() and minutes.isdigit() and int(hours) < 24 and int(minutes) < 60 and len(minutes) == 2):
        raise ValueError(f"expected HH:MM, got {value!r}")
    return value


def _check_targets(value: list[str]) -> list[str]:
    for target in value:
        platform, _, name = target.partition(":")
        if platform not in ("dingtalk", "wecom", "feishu") or not name:
            raise ValueError(f"expected 'platform:robot_name' (dingtalk/wecom/feishu), got {target!r}")
    return value


class DigestSubscriptionSettings(Section):
    """One more configured digest: ``[[digests.subscriptions]]``."""

    kind: Literal["日报", "周报"] = "日报"
    # Days and time, e.g. "每天 09:00", "工作日 08:30", "周一 09:30"; days default to 每天 (日报) / 周一 (周报),
    # the time to [digests].time.
    schedule: str = ""
    targets: list[str] = Field(default_factory=list)
    filters: dict[str, str] = Field(default_factory=dict)
    sections: list[str] = Field(default_factory=list)

    _targets = field_validator("targets")(classmethod(lambda cls, v: _check_targets(v)))


class DigestSettings(Section):
    enabled: bool = True
    time: str = "09:00"
    targets: list[str] = Field(default_factory=list)
    # A digest missed while no replica was running is still sent this long after its time, once.
    misfire_grace_seconds: int = Field(default=3600, ge=0)
    # How often each replica looks for due digests (it also wakes exactly at the next fire time).
    check_seconds: float = Field(default=30.0, gt=0)
    # A digest that cannot be built (database down) is tried again this often, at most max_attempts times.
    retry_seconds: float = Field(default=60.0, gt=0)
    max_attempts: int = Field(default=5, ge=1)
    # A replica that claimed a digest and died is replaced by another after this long.
    claim_lease_seconds: float = Field(default=300.0, gt=0)
    subscriptions: list[DigestSubscriptionSettings] = Field(default_factory=list)

    _time = field_validator("time")(classmethod(lambda cls, v: _check_hh_mm(v)))
    _targets = field_validator("targets")(classmethod(lambda cls, v: _check_targets(v)))


class AlertRuleSettings(Section):
    """One threshold rule on a metric of the dictionary: ``[[alerts.rules]]``."""

    name: str
    metric: str  # 满意度, 30秒应答率, 解决率, 投诉率, 负面占比, … (any metric name or alias)
    window: str = "近1小时"  # a time phrase: 近1小时, 近2小时, 今天, 近24小时
    comparison: Literal["<", "<=", ">", ">="] = "<"
    value: float  # in the unit the chat shows: percent for % metrics (80 = 80 %)
    min_n: int = Field(default=0, ge=0)
    filters: dict[str, str] = Field(default_factory=dict)  # 渠道 / 客服 / 店铺 / 商品 = value


class AlertSettings(Section):
    enabled: bool = True
    check_interval_seconds: int = Field(default=60, ge=60, multiple_of=60)
    windows_minutes: list[int] = Field(default_factory=lambda: [15, 30, 60], min_length=1)
    min_count: int = Field(default=8, ge=1)
    min_ratio: float = Field(default=2.0, ge=1.0)
    significance: float = Field(default=1e-5, gt=0, lt=1)
    baseline_weeks: int = Field(default=4, ge=1, le=12)
    hold_minutes: float = Field(default=2.0, ge=0)
    reminder_minutes: float = Field(default=120.0, gt=0)
    resolve_after_minutes: float = Field(default=30.0, ge=0)
    series: list[Literal["complaints", "negative"]] = Field(default_factory=lambda: ["complaints", "negative"])
    targets: list[str] = Field(default_factory=list)
    oncall_dingtalk_mobiles: list[str] = Field(default_factory=list)
    oncall_wecom_userids: list[str] = Field(default_factory=list)
    rules: list[AlertRuleSettings] = Field(default_factory=list)

    @field_validator("windows_minutes")
    @classmethod
    def _windows(cls, value: list[int]) -> list[int]:
        if any(w < 1 or w > 180 for w in value):
            raise ValueError("windows are 1 to 180 minutes")
        return sorted(set(value))


class FaqSettings(Section):
    """/知识库, ``csbot faq`` and the 周报's 新知识库建议: repeated customer questions → KB / auto-reply entries."""

    days: int = Field(default=30, ge=1, le=365)  # the window (近N天), compared with the N days before
    min_questions: int = Field(default=10, ge=2)  # a cluster asked fewer times in the window is not proposed
    top_n: int = Field(default=10, ge=1, le=50)  # suggestions listed by /知识库 (and 5 at most in the 周报)
    regrow_factor: float = Field(default=2.0, gt=1)  # a dismissed one returns when its count reaches × this
    weekly_push: bool = True  # the 周报 carries a 新知识库建议 section
    refresh_minutes: int = Field(default=60, ge=1, le=10080)  # the FAQ refresh job runs every N min (leader)
    quick_similarity: float = Field(default=0.4, ge=0, le=1)  # 快捷回复: agents' replies at least this similar …
    quick_max_chars: int = Field(default=60, ge=1)  # … and the median reply at most this long
    review_bad_share: float = Field(default=0.3, gt=0, le=1)  # covered by the KB but this share ends badly: 答案需复查


class StaffingEventSettings(Section):
    """One promotion day: ``[[staffing.events]]`` (or ``events = [{ date = "2026-11-11", factor = 3 }]``)."""

    date: dt.date
    factor: float = Field(gt=0, le=50)  # the day's conversations × this (双11 × 3)
    name: str = ""


class StaffingSettings(Section):
    """/排班 and ``csbot staffing``: the service-level target, handle time and concurrency, promotions."""

    service_level: float = Field(default=0.8, gt=0, lt=1)  # share answered within answer_seconds
    answer_seconds: float = Field(default=30.0, gt=0)
    concurrency: float = Field(default=0.0, ge=0, le=20)  # chats per agent at once; 0 = measured from history
    handle_seconds: float = Field(default=0.0, ge=0)  # mean seconds a chat holds an agent; 0 = measured
    history_weeks: int = Field(default=8, ge=2, le=26)
    holidays: bool = True  # statutory holidays follow the 周日 profile (chinese-calendar, years it knows)
    events: list[StaffingEventSettings] = Field(default_factory=list)


class QASettings(Section):
    """质检 (/质检, ``csbot qa``, findings kept at import): the rules' thresholds. See docs/qa.md."""

    first_response_target_seconds: float = Field(default=60.0, gt=0)  # slow_first_response above this
    gap_target_seconds: float = Field(default=180.0, gt=0)  # long_gap and broken_promise above this
    repeat_window_hours: float = Field(default=24.0, gt=0, le=72)  # repeat_contact: back within this
    impolite_words: list[str] = Field(default_factory=list)  # banned words added to the impolite lexicon
    training_min_agents: int = Field(default=3, ge=1)  # 专题培训 when at least this many agents share a problem
    training_agent_share: float = Field(default=0.5, gt=0, le=1)  # … and they are this share of active agents


class TextSettings(Section):
    complaint_rules: dict[str, list[str]] = Field(default_factory=dict)
    user_words: list[str] = Field(default_factory=list)


class PrivacySettings(Section):
    # Mask phone numbers, addresses, ID / bank card numbers, e-mail and names in the stored free text at
    # import (docs/privacy.md says why it is on by default); order ids and tracking numbers stay.
    mask_at_rest: bool = True


class RetentionSettings(Section):
    # Days to keep each kind of row (0 = forever), by its own time column; swept daily on one replica.
    conversations: int = Field(default=0, ge=0)
    messages: int = Field(default=0, ge=0)
    complaints: int = Field(default=0, ge=0)
    orders: int = Field(default=0, ge=0)
    returns: int = Field(default=0, ge=0)
    reviews: int = Field(default=0, ge=0)
    audit_log: int = Field(default=0, ge=0)
    sweep_time: str = Field(default="03:30", pattern=r"^\d{2}:\d{2}$")  # local time of the daily sweep


class MetricsSettings(Section):
    min_agent_n: int = 20


class _TomlSource(PydanticBaseSettingsSource):
    def __init__(self, settings_cls: type[BaseSettings], data: dict[str, Any]):
        super().__init__(settings_cls)
        self._data = data

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self._data)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CSBOT_", env_nested_delimiter="__", extra="forbid", case_sensitive=False
    )

    general: GeneralSettings = Field(default_factory=GeneralSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    dingtalk: DingTalkSettings = Field(default_factory=DingTalkSettings)
    wecom: WeComSettings = Field(default_factory=WeComSettings)
    feishu: FeishuSettings = Field(default_factory=FeishuSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    access: AccessSettings = Field(default_factory=AccessSettings)
    digests: DigestSettings = Field(default_factory=DigestSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    text: TextSettings = Field(default_factory=TextSettings)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)
    delivery: DeliverySettings = Field(default_factory=DeliverySettings)
    staffing: StaffingSettings = Field(default_factory=StaffingSettings)
    qa: QASettings = Field(default_factory=QASettings)
    faq: FaqSettings = Field(default_factory=FaqSettings)
    privacy: PrivacySettings = Field(default_factory=PrivacySettings)
    retention: RetentionSettings = Field(default_factory=RetentionSettings)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.general.timezone)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (env_settings, init_settings)


def _format_errors(exc: ValidationError, origin: str) -> str:
    lines = [f"invalid configuration ({origin}):"]
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"])
        if err["type"] == "extra_forbidden":
            lines.append(f"  - unknown key '{where}' (see config.example.toml for the valid keys)")
        else:
            lines.append(f"  - {where}: {err['msg']}")
    return "\n".join(lines)


def resolve_config_path(explicit: str | None) -> Path | None:
    """The config file to read: ``--config``, then ``CSBOT_CONFIG``, then ``./config.toml`` if present."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("CSBOT_CONFIG")
    if env:
        return Path(env)
    default = Path("config.toml")
    return default if default.exists() else None


def load_settings(path: str | Path | None = None, *, use_default_path: bool = True) -> Settings:
    """Load settings from ``path`` (or the default lookup) plus environment overrides."""
    cfg_path = Path(path) if path else (resolve_config_path(None) if use_default_path else None)
    data: dict[str, Any] = {}
    origin = "built-in defaults"
    if cfg_path is not None:
        if not cfg_path.exists():
            raise ConfigError(f"config file not found: {cfg_path}")
        try:
            data = tomllib.loads(cfg_path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {cfg_path} is not valid TOML: {exc}") from None
        origin = str(cfg_path)
    env_saved = os.environ.pop("CSBOT_CONFIG", None)
    try:
        return Settings(**data)
    except ValidationError as exc:
        raise ConfigError(_format_errors(exc, origin)) from None
    finally:
        if env_saved is not None:
            os.environ["CSBOT_CONFIG"] = env_saved
