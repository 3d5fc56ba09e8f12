"""Configuration: strict, env overrides, and every key documented in config.example.toml."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from pydantic import BaseModel

from bot.config import ConfigError, Settings, load_settings

EXAMPLE = Path(__file__).resolve().parent.parent / "config.example.toml"


def _leaf_keys(model: type[BaseModel], prefix: str = "") -> list[tuple[str, str]]:
    keys = []
    for name, field in model.model_fields.items():
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            keys += _leaf_keys(ann, name)
        else:
            keys.append((prefix, name))
    return keys


def test_example_is_valid_and_complete():
    data = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    Settings(**data)  # strict: a typo in the example fails here
    text = EXAMPLE.read_text(encoding="utf-8")
    missing = []
    for section, key in _leaf_keys(Settings):
        if key == "robots":
            if not re.search(rf"^#\s*\[\[{section}\.robots\]\]", text, re.M):
                missing.append(f"{section}.robots")
            continue
        if key not in data.get(section, {}):
            missing.append(f"{section}.{key}")
    assert not missing, f"undocumented config keys: {missing}"


def test_defaults(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CSBOT_CONFIG", raising=False)
    s = load_settings()
    assert s.general.timezone == "Asia/Shanghai"
    assert s.database.url == "sqlite:///./csbot.db"


def test_unknown_key_is_a_clear_error(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[database]\nurll = "x"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"unknown key 'database.urll'"):
        load_settings(cfg)


def test_env_overrides_file(tmp_path, monkeypatch):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[database]\nurl = "sqlite:///a.db"\n[general]\ntimezone = "UTC"\n', encoding="utf-8")
    monkeypatch.setenv("CSBOT_DATABASE__URL", "sqlite:///b.db")
    s = load_settings(cfg)
    assert s.database.url == "sqlite:///b.db"
    assert s.general.timezone == "UTC"


def test_bad_values(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[general]\ntimezone = "Mars/Olympus"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="timezone"):
        load_settings(cfg)
    cfg.write_text("[general\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(cfg)
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "missing.toml")


def test_secrets_are_not_printed(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[dingtalk]\napp_secret = "very-secret-value"\n', encoding="utf-8")
    s = load_settings(cfg)
    assert "very-secret-value" not in repr(s)
    assert s.dingtalk.app_secret.get_secret_value() == "very-secret-value"


def test_a_section_that_is_not_built_is_an_unknown_key(tmp_path):
    """A section the settings model does not have (a typo of [faq]) is told so, not silently accepted."""
    cfg = tmp_path / "c.toml"
    cfg.write_text("[fqa]\ndays = 30\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"unknown key 'fqa"):
        load_settings(cfg)


def test_every_setting_is_read_by_the_code():
    """Config promises nothing that is not there: each key of the settings model is read somewhere
    outside bot/config.py (as ``.<key>``), so no documented switch is a no-op."""
    root = EXAMPLE.parent
    sources = "\n".join(p.read_text(encoding="utf-8") for layer in ("bot", "handlers", "analytics")
                        for p in (root / layer).rglob("*.py") if p != root / "bot" / "config.py")
    unread = [f"{section}.{key}" for section, key in _leaf_keys(Settings)
              if not re.search(rf"\.{re.escape(key)}\b", sources)]
    assert not unread, f"settings no code reads: {unread}"
