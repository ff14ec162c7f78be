"""One settings table: the code reads every row, the README documents every row."""

import re
from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.settings import SETTINGS, Settings, load_settings

README = Path(__file__).resolve().parent.parent / "README.md"


def _readme_rows() -> dict[str, str]:
    rows = re.findall(r"^\| `([A-Z_]+)` \| ([^|]+) \|", README.read_text(), flags=re.MULTILINE)
    return {name: default.strip() for name, default in rows}


def test_every_setting_is_a_field_of_settings() -> None:
    assert [s.env.lower() for s in SETTINGS] == list(Settings.model_fields)


def test_readme_lists_every_setting_with_its_default() -> None:
    rows = _readme_rows()
    for setting in SETTINGS:
        assert setting.env in rows, f"README's settings table misses {setting.env}"
        shown = f"`{setting.default}`" if setting.default else "(empty)"
        assert rows[setting.env] == shown, f"README shows {rows[setting.env]} as {setting.env}'s default"
    assert set(rows) == {s.env for s in SETTINGS}, "README lists a setting the code does not read"


def test_defaults_match_the_table(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no .env here
    for setting in SETTINGS:
        monkeypatch.delenv(setting.env, raising=False)
    settings = load_settings()
    for setting in SETTINGS:
        value = getattr(settings, setting.env.lower())
        value = value.get_secret_value() if hasattr(value, "get_secret_value") else value
        expected = Path(setting.default) if setting.env == "CHATCADDY_CONFIG" else setting.default
        assert (value if isinstance(value, Path) else str(value)) == expected, setting.env


def test_dotenv_file_is_read_and_environment_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("CHATCADDY_MODEL=from-dotenv\nX_API_BASE=http://127.0.0.1:9\n")
    monkeypatch.delenv("CHATCADDY_MODEL", raising=False)
    monkeypatch.setenv("X_API_BASE", "http://127.0.0.1:7")
    settings = load_settings()
    assert settings.chatcaddy_model == "from-dotenv"
    assert settings.x_api_base == "http://127.0.0.1:7"


def test_secrets_are_hidden_in_repr_and_listed_for_redaction(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_API_SECRET", "consumer-secret-value")
    monkeypatch.setenv("DATABASE_URL", "postgresql://app:db-password-value@db.example/app")
    settings = load_settings()
    assert "consumer-secret-value" not in repr(settings)
    assert {"consumer-secret-value", "db-password-value"} <= set(settings.secret_values())


def test_a_bad_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_API_BASE", "api.x.com")
    monkeypatch.setenv("CHATCADDY_LOG_LEVEL", "loud")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert "X_API_BASE: Value error, 'api.x.com' is not an http(s) URL" in message
    assert "CHATCADDY_LOG_LEVEL" in message
