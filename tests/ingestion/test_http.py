"""The connectors' HTTP client over real HTTP against the simulator core: retries, rate limits, errors, redaction."""

import logging

import pytest

from ingestion.http import (
    ApiClient,
    RetryPolicy,
    SourceAccessError,
    SourceAuthError,
    SourceNotFoundError,
    SourceUnavailableError,
    retry_after_seconds,
)
from ingestion.sim.base import Fault, SimRequest, SimResponse, Simulator

TOKEN = "s3cr3t-token-value"


class Echo(Simulator):
    """A tiny API: GET /items returns a list; GET /forbidden and /missing fail as vendors do."""

    def __init__(self) -> None:
        super().__init__(token=TOKEN)
        self.route("GET", "/items", lambda r, m: SimResponse(200, [{"id": 1}, {"id": 2}]))
        self.route(
            "GET",
            "/forbidden",
            lambda r, m: SimResponse(403, {"message": "Resource not accessible by integration"}),
        )
        self.route(
            "GET", "/teapot", lambda r, m: SimResponse(418, {"errorMessages": ["short and stout"]})
        )
        self.route("POST", "/graphql", self._graphql)

    def _graphql(self, request: SimRequest, match: object) -> SimResponse:
        body = request.json()
        return SimResponse(200, {"data": {"echo": body["variables"]["x"]}})


@pytest.fixture
def sim() -> Echo:
    return Echo()


def client(url: str, sleeps: list[float], **policy: float) -> ApiClient:
    return ApiClient(
        source="test",
        base_url=url,
        headers={"Authorization": f"Bearer {TOKEN}"},
        secrets=[TOKEN],
        credential_hint="$TEST_TOKEN",
        policy=RetryPolicy(**{"attempts": 5, "timeout": 2.0, **policy}),  # type: ignore[arg-type]
        sleep=sleeps.append,
    )


def test_retries_server_errors_with_growing_jittered_backoff(sim: Echo) -> None:
    sim.inject(Fault("status", status=502, times=2), Fault("status", status=503, times=1))
    sleeps: list[float] = []
    with sim.serve() as url, client(url, sleeps) as api:
        assert api.get_json("/items") == [{"id": 1}, {"id": 2}]
        assert api.stats.requests == 4 and api.stats.retries == 3
    assert len(sleeps) == 3
    assert 0.25 <= sleeps[0] <= 0.5 and 0.5 <= sleeps[1] <= 1.0 and 1.0 <= sleeps[2] <= 2.0


def test_honours_retry_after_on_429(sim: Echo) -> None:
    sim.inject(Fault("status", status=429, headers={"Retry-After": "7"}))
    sleeps: list[float] = []
    with sim.serve() as url, client(url, sleeps) as api:
        assert api.get_json("/items")
    assert len(sleeps) == 1 and 7.0 <= sleeps[0] <= 8.0


def test_retry_after_as_http_date() -> None:
    assert (
        retry_after_seconds({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, now=1445412470.0)
        == 10.0
    )
    assert retry_after_seconds({}) is None


def test_truncated_json_and_reset_and_timeout_are_retried(sim: Echo) -> None:
    sim.inject(
        Fault("truncate", path="/items"),
        Fault("reset", path="/items"),
        Fault("delay", path="/items", seconds=3.0),
    )
    sleeps: list[float] = []
    with sim.serve() as url, client(url, sleeps, timeout=1.0) as api:
        assert api.get_json("/items") == [{"id": 1}, {"id": 2}]
        assert api.stats.retries == 3


def test_gives_up_with_a_clear_error_after_the_attempts(sim: Echo) -> None:
    sim.inject(Fault("status", status=503, times=99))
    sleeps: list[float] = []
    with (
        sim.serve() as url,
        client(url, sleeps) as api,
        pytest.raises(SourceUnavailableError) as info,
    ):
        api.get_json("/items")
    assert "server error (HTTP 503)" in str(info.value) and "5 attempts" in str(info.value)
    assert len(sleeps) == 4


def test_a_wait_longer_than_allowed_fails_at_once(sim: Echo) -> None:
    sim.inject(Fault("status", status=429, headers={"Retry-After": "3600"}))
    sleeps: list[float] = []
    with (
        sim.serve() as url,
        client(url, sleeps, max_wait=60) as api,
        pytest.raises(SourceUnavailableError) as info,
    ):
        api.get_json("/items")
    assert "3600s" in str(info.value) and "run again later" in str(info.value)
    assert sleeps == []


def test_total_waiting_is_bounded(sim: Echo) -> None:
    sim.inject(Fault("status", status=429, headers={"Retry-After": "40"}, times=5))
    sleeps: list[float] = []
    with (
        sim.serve() as url,
        client(url, sleeps, max_wait=100) as api,
        pytest.raises(SourceUnavailableError),
    ):
        api.get_json("/items")
    assert len(sleeps) == 2 and sum(sleeps) <= 100


def test_client_errors_say_what_to_do_and_hide_the_token(
    sim: Echo, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    sleeps: list[float] = []
    with sim.serve() as url:
        with client(url, sleeps) as api, pytest.raises(SourceAccessError) as forbidden:
            api.get_json("/forbidden")
        assert "Resource not accessible by integration" in str(forbidden.value)
        with client(url, sleeps) as api, pytest.raises(SourceNotFoundError) as missing:
            api.get_json("/missing")
        assert "check the name" in str(missing.value) and "$TEST_TOKEN" in str(missing.value)
        bad = ApiClient(source="test", base_url=url, headers={"Authorization": "Bearer wrong-token-x"},
                        secrets=["wrong-token-x"], credential_hint="$TEST_TOKEN", sleep=sleeps.append)  # fmt: skip
        with bad, pytest.raises(SourceAuthError) as refused:
            bad.get_json("/items", params={"t": "wrong-token-x"})
        assert "HTTP 401" in str(refused.value) and "$TEST_TOKEN" in str(refused.value)
        assert "wrong-token-x" not in str(refused.value)
    assert sleeps == []
    assert TOKEN not in caplog.text and "wrong-token-x" not in caplog.text


def test_graphql_returns_data(sim: Echo) -> None:
    with sim.serve() as url, client(url, []) as api:
        assert api.graphql("/graphql", "query { echo }", {"x": 3}, what="echo") == {"echo": 3}


def test_in_process_transport_speaks_the_same(sim: Echo) -> None:
    sim.inject(Fault("status", status=502))
    sleeps: list[float] = []
    api = ApiClient(source="t", base_url="http://sim.invalid", headers={"Authorization": f"Bearer {TOKEN}"},
                    transport=sim.transport(), sleep=sleeps.append)  # fmt: skip
    with api:
        assert api.get_json("/items") == [{"id": 1}, {"id": 2}]
    assert len(sleeps) == 1
