"""Optional OIDC sign-in: nothing but the prompt before it, then only the teams a viewer's role allows."""

from tests.dashboards.fixture_warehouse import Fixture
from tests.dashboards.support import Open, texts

pytest_plugins = ("tests.dashboards.support",)

ROLES = {
    "vp@acme.example": ["*"],
    "lead@acme.example": ["Web"],
    "director@acme.example": ["Web", "Mobile", "__org__"],
    "@partner.example": ["Mobile"],
}
SETTINGS = {"organisation": "Acme Robotics", "auth": {"enabled": True, "roles": ROLES}}
SECRETS = {
    "auth": {
        "redirect_uri": "http://localhost:8501/oauth2callback",
        "cookie_secret": "test-only",
        "client_id": "dashboard",
        "client_secret": "test-only",
        "server_metadata_url": "https://idp.example/.well-known/openid-configuration",
    }
}


def signed_in(email: str) -> dict[str, object]:
    return {"is_logged_in": True, "email": email, "name": email.split("@")[0]}


def test_before_sign_in_only_the_prompt_is_shown(open_app: Open, warehouse: Fixture) -> None:
    at = open_app(warehouse.path, settings=SETTINGS, user={"is_logged_in": False}, secrets=SECRETS)
    assert not at.exception
    assert [b.label for b in at.button] == ["Sign in"]
    assert not at.metric and not at.dataframe and not at.get("plotly_chart")
    assert not at.multiselect and not at.select_slider and not at.selectbox
    shown = texts(at)
    assert "Sign in" in shown and "Acme Robotics" in shown
    assert "%" not in shown  # no number of any kind


def test_sign_in_without_provider_settings_says_what_is_missing(open_app: Open, warehouse: Fixture) -> None:  # fmt: skip
    at = open_app(warehouse.path, settings=SETTINGS, user={"is_logged_in": False})
    assert not at.button
    assert "[auth]" in texts(at) and "secrets.toml" in texts(at)
    assert not at.metric


def test_a_named_provider_must_have_its_section(open_app: Open, warehouse: Fixture) -> None:
    settings = {**SETTINGS, "auth": {**SETTINGS["auth"], "provider": "okta"}}
    at = open_app(warehouse.path, settings=settings, user={"is_logged_in": False}, secrets=SECRETS)
    assert "[auth.okta]" in texts(at)
    ok = open_app(
        warehouse.path,
        settings=settings,
        user={"is_logged_in": False},
        secrets={"auth": {**SECRETS["auth"], "okta": {"client_id": "x"}}},
    )
    assert [b.label for b in ok.button] == ["Sign in"]


def test_a_team_lead_sees_only_the_own_team(open_app: Open, warehouse: Fixture) -> None:
    at = open_app(warehouse.path, settings=SETTINGS, user=signed_in("Lead@Acme.example"))
    assert not at.exception
    assert at.multiselect(key="filter_teams").options == ["Web"]
    assert [s.value for s in at.subheader] == [f"Web · {warehouse.last_closed.team_name('Web')}"]
    assert "Acme Robotics ·" not in texts(at)
    assert "Signed in as Lead@Acme.example" in texts(at)
    teams = open_app(
        warehouse.path, "teams", settings=SETTINGS, user=signed_in("lead@acme.example")
    )
    assert list(teams.dataframe[0].value["team"]) == ["Web"]
    report = open_app(warehouse.path, "sprint_report", settings=SETTINGS, user=signed_in("lead@acme.example"))  # fmt: skip
    assert [e.label.split(" · ")[0] for e in report.expander] == ["Web"]


def test_a_role_can_include_the_organisation(open_app: Open, warehouse: Fixture) -> None:
    at = open_app(warehouse.path, settings=SETTINGS, user=signed_in("director@acme.example"))
    assert at.multiselect(key="filter_teams").options == ["Mobile", "Web"]
    assert [s.value for s in at.subheader] == [f"Acme Robotics · {warehouse.last_closed.org_name}"]


def test_a_domain_role_applies_to_its_addresses(open_app: Open, warehouse: Fixture) -> None:
    at = open_app(warehouse.path, settings=SETTINGS, user=signed_in("someone@partner.example"))
    assert at.multiselect(key="filter_teams").options == ["Mobile"]


def test_the_url_cannot_widen_a_role(open_app: Open, warehouse: Fixture) -> None:
    at = open_app(warehouse.path, settings=SETTINGS, user=signed_in("lead@acme.example"), query={"team": ["Mobile", "Tiny"]})  # fmt: skip
    assert at.multiselect(key="filter_teams").value == []
    assert [s.value for s in at.subheader] == [f"Web · {warehouse.last_closed.team_name('Web')}"]


def test_an_account_without_a_role_sees_nothing(open_app: Open, warehouse: Fixture) -> None:
    at = open_app(warehouse.path, settings=SETTINGS, user=signed_in("stranger@elsewhere.example"))
    assert "has no role in this dashboard" in texts(at)
    assert not at.metric and not at.multiselect
    assert [b.label for b in at.button] == ["Sign out"]


def test_unmatched_identities_are_listed_for_full_access_only(open_app: Open, warehouse: Fixture) -> None:  # fmt: skip
    lead = open_app(
        warehouse.path, "health", settings=SETTINGS, user=signed_in("lead@acme.example")
    )
    assert "listed for administrators only" in texts(lead)
    assert not any("old-laptop" in f.value.to_string() for f in lead.dataframe)
    vp = open_app(warehouse.path, "health", settings=SETTINGS, user=signed_in("vp@acme.example"))
    assert any("old-laptop" in f.value.to_string() for f in vp.dataframe)


def test_sign_in_off_shows_everything(open_app: Open, warehouse: Fixture) -> None:
    at = open_app(warehouse.path, settings={"auth": {"enabled": False, "roles": ROLES}})
    assert at.multiselect(key="filter_teams").options == ["Mobile", "Tiny", "Web"]
    assert not any(b.label == "Sign out" for b in at.button)


def test_bad_settings_are_reported_with_the_key(open_app: Open, warehouse: Fixture) -> None:
    at = open_app(warehouse.path, settings={"privacy": {"min_group_size": 0}})
    assert not at.exception
    assert "privacy.min_group_size" in at.error[0].value
