"""Settings: precedence, types, errors, and secrets that never show."""

from __future__ import annotations

from pathlib import Path

import pytest

from diapason.settings import SETTINGS_TABLE, Secret, SettingsError, load_settings


def test_defaults_put_the_sqlite_file_in_the_data_folder(tmp_path: Path) -> None:
    settings = load_settings(tmp_path, environ={})
    assert settings.data_dir == tmp_path
    assert (
        settings.database_url.reveal() == f"sqlite:///{(tmp_path / 'diapason.sqlite3').resolve()}"
    )
    assert settings.database_dialect == "sqlite"
    assert settings.port == 8000


def test_data_folder_from_environment(tmp_path: Path) -> None:
    assert load_settings(environ={"DIAPASON_DATA": str(tmp_path)}).data_dir == tmp_path


def test_precedence_override_then_environment_then_file(tmp_path: Path) -> None:
    (tmp_path / "diapason.toml").write_text('node_name = "from-file"\nport = 9000\nworkers = 3\n')
    env = {"DIAPASON_NODE_NAME": "from-env", "DIAPASON_PORT": "9001"}
    settings = load_settings(tmp_path, environ=env, port=9002)
    assert settings.node_name == "from-env"
    assert settings.port == 9002
    assert settings.workers == 3


@pytest.mark.parametrize(
    ("variable", "value", "fragment"),
    [
        ("DIAPASON_PORT", "eighty", "DIAPASON_PORT"),
        ("DIAPASON_PORT", "70000", "at most 65535"),
        ("DIAPASON_WORKERS", "0", "must be positive"),
        ("DIAPASON_LOG_LEVEL", "loud", "log_level"),
    ],
)
def test_bad_environment_values_name_the_variable(
    tmp_path: Path, variable: str, value: str, fragment: str
) -> None:
    with pytest.raises(SettingsError, match=fragment):
        load_settings(tmp_path, environ={variable: value})


def test_bad_config_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "diapason.toml").write_text("port = [")
    with pytest.raises(SettingsError, match="not valid TOML"):
        load_settings(tmp_path, environ={})
    (tmp_path / "diapason.toml").write_text("colour = 'blue'\n")
    with pytest.raises(SettingsError, match="unknown setting"):
        load_settings(tmp_path, environ={})


def test_secrets_never_show(tmp_path: Path) -> None:
    url = "postgresql+psycopg://alice:s3cr3t-pw@db.example/diapason"
    settings = load_settings(
        tmp_path, environ={"DIAPASON_DATABASE_URL": url, "DIAPASON_SECRET_KEY": "k3y-value"}
    )
    shown = repr(settings) + str(settings) + str(settings.describe())
    assert "s3cr3t-pw" not in shown
    assert "k3y-value" not in shown
    assert (
        settings.describe()["database_url"] == "postgresql+psycopg://alice:***@db.example/diapason"
    )
    assert settings.database_url.reveal() == url
    assert str(Secret("x")) == "**********"


def test_every_setting_is_in_the_table_and_documented() -> None:
    docs = (Path(__file__).parent.parent / "docs" / "settings.md").read_text()
    for name, (variable, _kind) in SETTINGS_TABLE.items():
        assert variable in docs, f"{variable} ({name}) is not documented in docs/settings.md"
