"""Tests for sprintproof.yaml: the init template, validation errors, path resolution and discovery order."""

import re
from pathlib import Path

import pytest

from dagster_project.cli import init
from dagster_project.config import (
    CONFIG_ENV,
    CONFIG_NAME,
    HOME_ENV,
    Config,
    ConfigError,
    GitSourceConfig,
    find_config,
    load_config,
    parse_config,
)
from ingestion.attribution import RuleSet

TEMPLATE = Path(__file__).resolve().parents[2] / "dagster_project" / "templates" / CONFIG_NAME


def git_source(config: Config, index: int) -> GitSourceConfig:
    source = config.sources[index]
    assert isinstance(source, GitSourceConfig)
    return source


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def config_error(path: Path) -> str:
    """The message of the ConfigError that loading path raises."""
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return str(caught.value)


def uncomment_examples(text: str) -> str:
    """The template with its commented-out example keys and list items switched on."""
    lines = []
    for line in text.splitlines():
        match = re.match(
            r"^(\s*)# ((?:- )?[a-z_]+:(?:\s|$).*|\s*- .*|\s*[a-z_]+:(?:\s|$).*)$", line
        )
        lines.append(match[1] + match[2] if match else line)
    # An empty flow list followed by uncommented items becomes a block list.
    return re.sub(r": \[\](\s*(?:#.*)?)\n(?=\s*-)", r":\1\n", "\n".join(lines) + "\n")


# --------------------------------------------------------------------------- the template


def test_template_written_by_init_parses_and_validates(tmp_path: Path) -> None:
    target = tmp_path / "project" / CONFIG_NAME
    target.parent.mkdir()
    init(path=target, force=False)
    assert target.read_bytes() == TEMPLATE.read_bytes()

    config = load_config(target)

    project = target.parent.resolve()
    assert [git_source(config, i).path for i in range(len(config.sources))] == [
        str(project)
    ]  # "path: ." is the config's folder
    assert config.workspace == project / ".sprintproof"
    assert config.warehouse_path == project / ".sprintproof" / "warehouse.duckdb"
    assert config.privacy.hash_paths is False
    assert config.privacy.min_group_size >= 1
    assert config.excludes.use_defaults is True


def test_template_commented_examples_are_valid_keys(tmp_path: Path) -> None:
    """Uncommenting the documented examples still gives a valid configuration."""
    text = uncomment_examples(TEMPLATE.read_text(encoding="utf-8"))
    config = load_config(write(tmp_path / CONFIG_NAME, text))

    # The examples really were switched on (otherwise this test proves nothing).
    assert [s.type for s in config.sources] == ["git", "git", "github", "jira"]
    assert git_source(config, 1).url is not None
    assert git_source(config, 1).token_env is not None
    assert len(config.people) == 1 and len(config.people[0].ids) == 3
    assert config.teams[0].sprints is not None and config.teams[0].sprints.board == "12"
    assert (
        config.notifications.slack_webhook_env is not None
        and config.notifications.email is not None
    )
    assert config.dashboard.auth.enabled
    assert config.warehouse is not None
    assert config.excludes.paths
    assert len(config.attribution.rules) == 1
    assert len(config.teams) == 1
    assert config.teams[0].member_ids() == ["alice@acme.example", "bob@acme.example"]
    assert config.sprints.first_start is not None
    assert config.privacy.path_hash_key_env is not None
    # The example rule is one the attribution engine accepts.
    ruleset = RuleSet.load(custom_rules=[r.model_dump() for r in config.attribution.rules])
    assert "+custom." in ruleset.version


def test_empty_file_gives_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path / CONFIG_NAME, "# nothing yet\n"))
    assert config.sources == []
    assert config.workspace == tmp_path.resolve() / ".sprintproof"


# --------------------------------------------------------------------------- precise errors

ERROR_CASES = {
    "unknown top-level key": ("organisation: Acme\nfoo: 1\n", ["foo", "unknown key"]),
    "unknown nested key": (
        "privacy:\n  min_group_sise: 3\n",
        ["privacy.min_group_sise", "unknown key"],
    ),
    "wrong type": (
        "privacy:\n  min_group_size: many\n",
        ["privacy.min_group_size", "integer", "'many'"],
    ),
    "out of range": (
        "privacy:\n  min_group_size: 0\n",
        ["privacy.min_group_size", "greater than or equal to 1"],
    ),
    "not a list": ("sources: git\n", ["sources", "valid list"]),
    "bad date": ("sprints:\n  first_start: next monday\n", ["sprints.first_start", "date"]),
    "unsupported source type": (
        "sources:\n  - type: svn\n    path: .\n",
        ["sources[0].type", "'svn'", "unknown source type", "supported: git, github, gitlab, jira"],
    ),
    "connector without its scope": (
        "sources:\n  - type: github\n    token_env: GH_TOKEN\n",
        ["sources[0].repos", "Field required"],
    ),
    "connector secret in the file": (
        "sources:\n  - type: jira\n    base_url: https://acme.atlassian.net\n    projects: [WEB]\n    password: hunter2\n",
        ["sources[0].password", "secrets are never read"],
    ),
    "credentials in a URL are not echoed": (
        "sources:\n  - type: gitlab\n    base_url: https://bob:hunter2@gitlab.acme.example\n    repos: [a/b]\n    token_env: GL\n",
        ["sources[0].base_url", "credentials in the URL are not accepted"],
    ),
    "missing source type": ("sources:\n  - path: .\n", ["sources[0]", "missing 'type'", "git"]),
    "both path and url": (
        "sources:\n  - type: git\n    path: .\n    url: https://git.example/acme/a.git\n",
        ["sources[0]", "exactly one of 'path'", "'url'"],
    ),
    "neither path nor url": ("sources:\n  - type: git\n", ["sources[0]", "exactly one of 'path'"]),
    "duplicate default names": (
        "sources:\n  - type: git\n    path: a\n  - type: git\n    path: other/a\n",
        ["sources", "two sources are named 'a'", "'name'"],
    ),
    "duplicate explicit names": (
        "sources:\n  - type: git\n    path: a\n    name: core\n  - type: git\n    url: https://git.example/b.git\n    name: core\n",
        ["sources", "two sources are named 'core'"],
    ),
    "invalid exclude glob": (
        "excludes:\n  paths: ['docs/', '!']\n",
        ["excludes.paths", "'!'", "glob"],
    ),
    "hash_paths without key env": (
        "privacy:\n  hash_paths: true\n",
        ["privacy", "path_hash_key_env", "environment variable"],
    ),
    "bad custom rule tool id": (
        "attribution:\n  rules:\n    - {id: r1, field: author, pattern: 'x', tool: Bad Tool, mode: agent, confidence: 0.9}\n",
        ["attribution.rules[0].tool", "'Bad Tool'"],
    ),
    "bad custom rule mode": (
        "attribution:\n  rules:\n    - {id: r1, field: author, pattern: 'x', tool: t, mode: sometimes, confidence: 0.9}\n",
        ["attribution.rules[0].mode", "'agent'", "'sometimes'"],
    ),
    "unknown key in a team member": (
        "teams:\n  - name: Core\n    members:\n      - id: ada@example.com\n        since: 2026-01-01\n",
        ["teams[0].members[0].since", "unknown key"],
    ),
}


@pytest.mark.parametrize(("text", "expected"), list(ERROR_CASES.values()), ids=list(ERROR_CASES))
def test_errors_name_file_key_and_expectation(
    tmp_path: Path, text: str, expected: list[str]
) -> None:
    path = write(tmp_path / "conf" / CONFIG_NAME, text)
    message = config_error(path)
    assert message.startswith(f"{path}: "), message
    for fragment in expected:
        assert fragment in message, f"{fragment!r} missing from: {message}"
    # The key path is shown as a reader writes it, not with pydantic's internal union tags.
    assert "MemberConfig" not in message
    assert "function-" not in message
    assert "\n" not in message
    assert "hunter2" not in message


@pytest.mark.parametrize(
    ("text", "key"),
    [
        (
            "sources:\n  - type: git\n    url: https://git.example/a.git\n    token: {secret}\n",
            "sources[0].token",
        ),
        ("password: {secret}\n", "password"),
        ("privacy:\n  api_key: {secret}\n", "privacy.api_key"),
    ],
)
def test_secret_in_file_is_refused_without_echoing_it(tmp_path: Path, text: str, key: str) -> None:
    secret = "ghp_" + "x7Q" * 12
    path = write(tmp_path / CONFIG_NAME, text.format(secret=secret))
    message = config_error(path)
    assert message.startswith(f"{path}: {key}: "), message
    assert "secrets are never read from the configuration file" in message
    assert "environment variable" in message
    assert secret not in message


def test_bad_yaml_gives_line_and_column(tmp_path: Path) -> None:
    path = write(
        tmp_path / CONFIG_NAME, "organisation: Acme\nsources:\n  - type: git\n   path: [\n"
    )
    message = config_error(path)
    assert message.startswith(f"{path}: not valid YAML"), message
    assert re.search(r"line 4, column \d+", message), message


def test_tab_indentation_is_bad_yaml_with_position(tmp_path: Path) -> None:
    path = write(tmp_path / CONFIG_NAME, "privacy:\n\tmin_group_size: 3\n")
    message = config_error(path)
    assert message.startswith(f"{path}: not valid YAML at line 2, column 1"), message


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    path = write(tmp_path / CONFIG_NAME, "- sources\n- teams\n")
    message = config_error(path)
    assert message.startswith(f"{path}: "), message
    assert "expected a mapping" in message and "list" in message


def test_undecodable_file_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / CONFIG_NAME
    path.write_bytes(b"organisation: \xff\xfe\x00caf\xe9\n")
    message = config_error(path)
    assert message.startswith(f"{path}: cannot read the configuration"), message


def test_several_problems_are_counted(tmp_path: Path) -> None:
    path = write(tmp_path / CONFIG_NAME, "foo: 1\nbar: 2\nprivacy:\n  min_group_size: many\n")
    message = config_error(path)
    assert "(and 2 more problems)" in message, message


@pytest.mark.parametrize(
    ("rule", "key", "fragment"),
    [
        (
            "{id: r1, field: authr, pattern: 'bot@', tool: t, mode: agent, confidence: 0.9}",
            "attribution.rules[0].field",
            "authr",
        ),
        (
            "{id: r1, field: author, pattern: '(', tool: t, mode: agent, confidence: 0.9}",
            "attribution.rules[0].pattern",
            "'('",
        ),
    ],
    ids=["unknown field", "invalid regex"],
)
def test_custom_rule_errors_are_caught_at_load_with_key_path(
    tmp_path: Path, rule: str, key: str, fragment: str
) -> None:
    """SPEC §8: validated at load, naming the file and the key; not later, by the rule engine, without either."""
    path = write(tmp_path / CONFIG_NAME, f"attribution:\n  rules:\n    - {rule}\n")
    message = config_error(path)
    assert message.startswith(f"{path}: {key}"), message
    assert fragment in message


def test_disabling_an_unknown_catalogue_rule_is_caught_at_load(tmp_path: Path) -> None:
    path = write(tmp_path / CONFIG_NAME, "attribution:\n  disable: [NO-SUCH-RULE]\n")
    message = config_error(path)
    assert message.startswith(f"{path}: attribution.disable"), message
    assert "NO-SUCH-RULE" in message


def test_parse_config_names_its_origin() -> None:
    with pytest.raises(ConfigError, match=r"^inline\.yaml: privacy\.per_person_views: "):
        parse_config({"privacy": {"per_person_views": "perhaps"}}, origin="inline.yaml")


# --------------------------------------------------------------------------- paths


def test_relative_paths_resolve_against_the_config_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "etc" / "sprintproof"
    path = write(
        folder / CONFIG_NAME,
        "workspace: state\n"
        "warehouse: ../data/wh.duckdb\n"
        "sources:\n"
        "  - type: git\n    path: ../../repos/alpha\n"
        "  - type: git\n    path: .\n    name: here\n"
        "  - type: git\n    url: https://git.example/acme/beta.git\n",
    )
    elsewhere = tmp_path / "somewhere" / "else"
    elsewhere.mkdir(parents=True)
    monkeypatch.chdir(elsewhere)

    config = load_config(path)

    base = folder.resolve()
    assert config.workspace == base / "state"
    assert config.warehouse == (tmp_path / "etc" / "data" / "wh.duckdb").resolve()
    assert config.warehouse_path == config.warehouse
    assert config.mirrors_dir == base / "state" / "mirrors"
    assert git_source(config, 0).path == str((tmp_path / "repos" / "alpha").resolve())
    assert git_source(config, 1).path == str(base)
    assert git_source(config, 2).url == "https://git.example/acme/beta.git"
    assert git_source(config, 2).path is None


def test_default_warehouse_lives_in_the_workspace(tmp_path: Path) -> None:
    config = load_config(write(tmp_path / CONFIG_NAME, "workspace: ws\n"))
    assert config.warehouse_path == tmp_path.resolve() / "ws" / "warehouse.duckdb"


def test_absolute_paths_are_kept(tmp_path: Path) -> None:
    warehouse = tmp_path / "abs" / "w.duckdb"
    config = load_config(
        write(
            tmp_path / "cfg" / CONFIG_NAME,
            f"warehouse: {warehouse}\nworkspace: {tmp_path / 'ws'}\n",
        )
    )
    assert config.warehouse == warehouse.resolve()
    assert config.workspace == (tmp_path / "ws").resolve()


def test_home_relative_paths_expand_like_source_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`~` means the home folder in every path key, as it already does for sources[].path."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    monkeypatch.setenv("HOME", str(home))
    path = write(
        tmp_path / "cfg" / CONFIG_NAME,
        "workspace: ~/sp\nwarehouse: ~/sp/w.duckdb\nsources:\n  - type: git\n    path: ~/repos/a\n",
    )
    config = load_config(path)
    assert git_source(config, 0).path == str((home / "repos" / "a").resolve())
    assert config.workspace == (home / "sp").resolve()
    assert config.warehouse == (home / "sp" / "w.duckdb").resolve()


def test_parse_config_without_base_keeps_paths_as_written() -> None:
    config = parse_config({"workspace": "ws", "sources": [{"type": "git", "path": "rel/a"}]})
    assert isinstance(config, Config)
    assert config.workspace == Path("ws")
    assert git_source(config, 0).path == "rel/a"


# --------------------------------------------------------------------------- discovery order


@pytest.fixture
def places(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """A config file in each place discovery looks, with cwd and $SPRINTPROOF_HOME under tmp_path."""
    cwd = tmp_path / "cwd"
    home = tmp_path / "sphome"
    found = {
        "explicit": write(tmp_path / "explicit" / CONFIG_NAME, "organisation: explicit\n"),
        "env": write(tmp_path / "env" / "custom-name.yaml", "organisation: env\n"),
        "cwd": write(cwd / CONFIG_NAME, "organisation: cwd\n"),
        "demo": write(home / "demo" / CONFIG_NAME, "organisation: demo\n"),
    }
    monkeypatch.chdir(cwd)
    monkeypatch.setenv(HOME_ENV, str(home))
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    return found


def test_discovery_prefers_the_explicit_file(
    places: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CONFIG_ENV, str(places["env"]))
    assert find_config(places["explicit"]) == places["explicit"]


def test_discovery_then_the_environment_variable(
    places: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CONFIG_ENV, str(places["env"]))
    found = find_config(None)
    assert found is not None
    assert found == places["env"]
    assert load_config(found).organisation == "env"


def test_discovery_then_the_working_directory(places: dict[str, Path]) -> None:
    found = find_config(None)
    assert found is not None
    assert found.resolve() == places["cwd"].resolve()
    assert load_config(found).organisation == "cwd"


def test_discovery_then_the_demo_workspace(places: dict[str, Path]) -> None:
    places["cwd"].unlink()
    found = find_config(None)
    assert found is not None
    assert found.resolve() == places["demo"].resolve()
    assert load_config(found).organisation == "demo"


def test_discovery_finds_nothing(places: dict[str, Path]) -> None:
    places["cwd"].unlink()
    places["demo"].unlink()
    assert find_config(None) is None


def test_missing_explicit_file_is_an_error_naming_it(
    places: dict[str, Path], tmp_path: Path
) -> None:
    missing = tmp_path / "nope" / CONFIG_NAME
    with pytest.raises(ConfigError) as caught:
        find_config(missing)
    assert str(caught.value).startswith(f"{missing}: ")
    assert "--config" in str(caught.value)


def test_missing_env_file_is_an_error_naming_it(
    places: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "nope.yaml"
    monkeypatch.setenv(CONFIG_ENV, str(missing))
    with pytest.raises(ConfigError) as caught:
        find_config(None)  # no fallback to ./sprintproof.yaml although it exists
    assert str(caught.value).startswith(f"{missing}: ")
    assert CONFIG_ENV in str(caught.value)


def test_load_config_of_a_missing_file_names_it(tmp_path: Path) -> None:
    missing = tmp_path / CONFIG_NAME
    message = config_error(missing)
    assert message.startswith(f"{missing}: ")
    assert "sprintproof init" in message
