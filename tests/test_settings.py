"""Settings in one place (nap/config.py): every field can be set from the environment, the
documented variable names work, a bad value is refused with its variable's name, and
docs/settings.md lists exactly the settings there are, with their defaults."""
from __future__ import annotations

import re
import types
import typing
from pathlib import Path

import pytest
from click.testing import CliRunner

from harvesters.ocpi_client import ClientLimits
from nap.config import Settings, SettingsError, environment_names, load_settings
from nap.server import gunicorn_application

REPO = Path(__file__).resolve().parent.parent
# Variables of the test harness, not of NAP: the docs may name them beside the settings.
HARNESS_VARIABLES = {"NAP_SHARED_DIR", "NAP_TEST_POSTGRES_URL"}


@pytest.fixture(autouse=True)
def no_settings_in_the_environment(monkeypatch):
    """Each test starts from the defaults, whatever the shell running pytest has set."""
    import os

    for name in os.environ:
        if name.startswith("NAP_") and name not in HARNESS_VARIABLES:
            monkeypatch.delenv(name)


def _default(name: str):
    return Settings.model_fields[name].get_default(call_default_factory=True)


def _sample(name: str) -> tuple[str, object]:
    """A variable's text unlike the field's default, and the value it must give."""
    annotation, default = Settings.model_fields[name].annotation, _default(name)
    options = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and len(options) == 1:
        annotation = options[0]  # X | None: a set variable gives an X
    if annotation is int:
        return str(default + 7), default + 7
    if annotation is float:
        return str(default + 0.25), default + 0.25
    if annotation is str:
        return f"set-{name}", f"set-{name}"
    if name == "datex2_status_segments":  # a list of profiles
        return " generic, afir ", ("generic", "afir")
    if typing.get_origin(annotation) is tuple:
        return " 10.1.0.0/16, 10.2.0.0/16 ", ("10.1.0.0/16", "10.2.0.0/16")
    if typing.get_origin(annotation) is typing.Literal:
        value = next(v for v in typing.get_args(annotation) if v != default)
        return value, value
    raise AssertionError(f"no sample value for {name}: {annotation}; teach _sample its type")


@pytest.mark.parametrize("name", list(Settings.model_fields))
def test_every_setting_can_be_set_from_the_environment(name, monkeypatch):
    raw, expected = _sample(name)
    assert expected != _default(name) and environment_names(name)
    for variable in environment_names(name):
        with monkeypatch.context() as patch:
            patch.setenv(variable, raw)
            assert getattr(load_settings(), name) == expected, variable


def test_documented_names_work_where_they_differ_from_the_field():
    assert environment_names("default_harvest_interval_minutes") == (
        "NAP_HARVEST_INTERVAL_MINUTES", "NAP_DEFAULT_HARVEST_INTERVAL_MINUTES")
    assert environment_names("api_max_limit") == ("NAP_API_MAX_LIMIT",)


def _documented_defaults() -> dict[str, str]:
    rows = re.findall(r"^\| `(NAP_[A-Z0-9_]+)` \| ([^|]*) \|", (REPO / "docs/settings.md").read_text(), re.M)
    documented = dict(rows)
    assert len(documented) == len(rows), "a variable is listed twice"
    return {variable: cell.strip() for variable, cell in documented.items()}


def test_docs_list_every_setting_once_with_its_default():
    documented = _documented_defaults()
    assert set(documented) == {environment_names(name)[0] for name in Settings.model_fields}
    for name, field in Settings.model_fields.items():
        cell = documented[environment_names(name)[0]]
        if field.default_factory is not None:
            assert cell and not cell.startswith("`"), (name, cell)  # described in words
        elif field.default is None:
            assert cell == "unset", (name, cell)
        elif field.default in ("", ()):
            assert cell == "empty", (name, cell)
        else:
            default = ",".join(field.default) if isinstance(field.default, tuple) else field.default
            assert cell == f"`{default}`", (name, cell)


def test_every_variable_the_docs_and_examples_name_is_a_setting():
    known = {variable for name in Settings.model_fields for variable in environment_names(name)}
    texts = [REPO / "README.md", REPO / "deploy" / "nap.env.example", *sorted((REPO / "docs").glob("*.md"))]
    named = {(path.name, variable) for path in texts for variable in re.findall(r"NAP_[A-Z0-9_]*[A-Z0-9]",
                                                                               path.read_text())}
    assert {(file, variable) for file, variable in named if variable not in known | HARNESS_VARIABLES} == set()


def test_settings_are_read_from_the_environment_in_nap_config_only():
    reads = re.compile(r"""(environ\.get|environ\[|getenv)\(?\s*["']NAP_""")
    sources = [*REPO.glob("nap/**/*.py"), *REPO.glob("harvesters/**/*.py"), *REPO.glob("exporters/**/*.py"),
               REPO / "wsgi.py", REPO / "deploy" / "gunicorn.conf.py"]
    assert [str(path.relative_to(REPO)) for path in sources if reads.search(path.read_text())] == []


@pytest.mark.parametrize("variable, raw", [("NAP_API_MAX_LIMIT", "many"), ("NAP_HARVEST_DEGRADED_EVSE_SHARE", "1%"),
                                           ("NAP_LOG_FORMAT", "xml"), ("NAP_HARVEST_INTERVAL_MINUTES", "soon"),
                                           ("NAP_DEFAULT_HARVEST_INTERVAL_MINUTES", "soon"),
                                           ("NAP_DATEX2_STATUS_SEGMENTS", "afir,gneric")])
def test_a_bad_value_is_refused_naming_its_variable(variable, raw, monkeypatch):
    monkeypatch.setenv(variable, raw)
    with pytest.raises(SettingsError) as refused:
        load_settings()
    assert str(refused.value).startswith(f"{variable}: ") and repr(raw) in str(refused.value), refused.value


def test_every_bad_value_is_named_at_once(monkeypatch):
    monkeypatch.setenv("NAP_API_MAX_LIMIT", "x")
    monkeypatch.setenv("NAP_WORKERS", "y")
    with pytest.raises(SettingsError, match=r"^NAP_API_MAX_LIMIT: .*'x'\); NAP_WORKERS: .*'y'\)$"):
        load_settings()


def test_every_nap_command_says_which_variable_is_wrong(monkeypatch):
    monkeypatch.setenv("NAP_API_MAX_LIMIT", "many")
    from nap.cli import main

    result = CliRunner().invoke(main, ["db", "upgrade"])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)  # a message, not a traceback
    assert "Error: NAP_API_MAX_LIMIT: Input should be a valid integer" in result.output, result.output


@pytest.mark.parametrize("setting, json_lines", [("json", True), ("text", False), (None, True)])
def test_nap_log_format_chooses_the_log_lines(setting, json_lines, monkeypatch, tmp_path):
    import nap.observability.logs as logs

    chosen = []
    monkeypatch.setattr(logs, "configure_logging", lambda level, json: chosen.append(json))
    if setting:
        monkeypatch.setenv("NAP_LOG_FORMAT", setting)
    monkeypatch.setenv("NAP_DATABASE_URL", f"sqlite:///{tmp_path / 'nap.sqlite3'}")
    from nap.cli import main

    assert CliRunner().invoke(main, ["db", "upgrade"]).exit_code == 0
    assert chosen == [json_lines]  # without the variable: JSON, as the runner's stderr is no terminal


def test_an_empty_variable_counts_as_unset(monkeypatch):
    for name in ("NAP_EXPORT_DIR", "NAP_API_MAX_LIMIT", "NAP_OUTBOUND_ALLOW", "NAP_DATABASE_URL", "NAP_SECRET_KEY"):
        monkeypatch.setenv(name, "")
    settings = load_settings()
    assert (settings.export_dir, settings.api_max_limit, settings.outbound_allow, settings.database_url,
            settings.secret_key) == (_default("export_dir"), _default("api_max_limit"), (), _default("database_url"),
                                     None)


def test_code_builds_settings_from_fields_and_the_environment_fills_the_rest(monkeypatch):
    monkeypatch.setenv("NAP_PARTY_ID", "ENV")
    settings = Settings(database_url="sqlite://", default_harvest_interval_minutes=5, outbound_allow=["127.0.0.0/8"],
                        public_base_url="https://nap.example/")
    assert (settings.database_url, settings.default_harvest_interval_minutes, settings.outbound_allow,
            settings.public_base_url, settings.party_id) == ("sqlite://", 5, ("127.0.0.0/8",),
                                                             "https://nap.example", "ENV")
    assert Settings(**{**settings.__dict__, "api_max_limit": 7}) == settings.model_copy(update={"api_max_limit": 7})
    with pytest.raises(ValueError, match="not_a_setting"):
        Settings(not_a_setting=1)
    with pytest.raises(ValueError, match="frozen"):
        settings.api_max_limit = 3
    assert "secret" not in repr(Settings(secret_key="secret", token_keys="secret", smtp_url="smtp://u:secret@h"))


def test_the_ocpi_client_takes_its_limits_from_the_settings():
    assert ClientLimits() == ClientLimits.from_settings(Settings())
    limits = ClientLimits.from_settings(Settings(http_timeout_seconds=3, harvest_max_page_bytes=100,
                                                 harvest_max_pages=2, retry_attempts=1, retry_backoff_seconds=0.1,
                                                 harvest_max_json_depth=9, harvest_max_objects_per_page=10,
                                                 outbound_allow="10.0.0.0/8"))
    assert (limits.timeout_seconds, limits.max_page_bytes, limits.max_pages, limits.attempts, limits.backoff_seconds,
            limits.max_json_depth, limits.max_objects_per_page, limits.allowed_networks) == (
        3, 100, 2, 1, 0.1, 9, 10, ("10.0.0.0/8",))


def test_nap_serve_runs_gunicorn_with_deploy_gunicorn_conf(monkeypatch):
    """One gunicorn configuration: `nap serve` gets what the file sets (keep-alive and the
    grace period differ from gunicorn's defaults), its settings from NAP_BIND, NAP_WORKERS
    and NAP_THREADS, and only the address and workers from the command line."""
    monkeypatch.setenv("NAP_BIND", "127.0.0.2:9000")
    monkeypatch.setenv("NAP_WORKERS", "3")
    monkeypatch.setenv("NAP_THREADS", "2")
    configured = gunicorn_application(None, None, None).cfg
    assert (configured.bind, configured.workers, configured.threads) == (["127.0.0.2:9000"], 3, 2)
    assert (configured.worker_class_str, configured.keepalive, configured.graceful_timeout, configured.timeout,
            configured.accesslog, configured.preload_app) == ("nap.gunicorn_worker.OcpiThreadWorker", 5, 20, 120,
                                                              None, False)
    assert gunicorn_application(None, 8123, 1).cfg.bind == ["127.0.0.2:8123"]
    overridden = gunicorn_application("0.0.0.0", 8124, None).cfg
    assert (overridden.bind, overridden.workers) == (["0.0.0.0:8124"], 3)
