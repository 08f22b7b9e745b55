"""HTTP for the connectors: retries with backoff and jitter, rate limits, actionable errors, no secrets in messages."""

import email.utils
import json
import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Self

import httpx
import tenacity

log = logging.getLogger("sprintproof.http")
# httpx logs every URL with its query at INFO and httpcore every header at DEBUG; SprintProof logs
# requests itself, with secrets removed, so theirs stay quiet whatever the root level is.
for _noisy in ("httpx", "httpcore"):
    logging.getLogger(_noisy).setLevel(logging.WARNING)

_PARSED = "sprintproof.parsed_json"
_UNSET = object()
_RETRY_STATUSES = frozenset({500, 502, 503, 504, 520, 521, 522, 524})
_MESSAGE_MAX = 300


class SourceError(Exception):
    """A source that cannot be read: the message names the source, the endpoint, what is wrong and what to do."""


class SourceAuthError(SourceError):
    """401: the credentials were refused."""


class SourceAccessError(SourceError):
    """403 that is not a rate limit: a missing scope or permission."""


class SourceNotFoundError(SourceError):
    """404: an unknown repository, project, board or team (or one the credentials cannot see)."""


class SourceResponseError(SourceError):
    """A response that is not what the API documents (malformed JSON, missing fields)."""


class SourceUnavailableError(SourceError):
    """Retries or the allowed waiting time ran out (5xx, timeouts, resets, rate limits)."""


@dataclass(frozen=True)
class RetryPolicy:
    """How patient a client is: attempts per request, backoff, and a bound on all waiting."""

    attempts: int = 7  # first try plus retries
    backoff_initial: float = 0.5
    backoff_max: float = 30.0
    max_wait: float = 900.0  # seconds one request may spend waiting (backoff and rate limits)
    timeout: float = 30.0


class Throttle:
    """A vendor's rate-limit rules. The default honours 429/503 with Retry-After.

    Vendors subclass it: `retry_after` says how long to wait before retrying a rate-limited
    response (None when the response is not a rate limit), `pause` how long to wait before the
    next request when a response says the budget is spent, `forbidden_hint` what a 403 means.
    """

    def retry_after(self, response: httpx.Response) -> float | None:
        if response.status_code in (429, 503):
            return retry_after_seconds(response.headers) or (
                None if response.status_code == 503 else 60.0
            )
        return None

    def pause(self, response: httpx.Response) -> float:
        return 0.0

    def forbidden_hint(self, response: httpx.Response) -> str:
        return "the credentials lack a permission this request needs"


def retry_after_seconds(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """The Retry-After header as seconds (it may be a number or an HTTP date)."""
    value = headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class _Retry(Exception):
    """A failed attempt that may succeed later; `after` is a server-requested wait."""

    def __init__(self, reason: str, after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.after = after


@dataclass
class ClientStats:
    requests: int = 0
    retries: int = 0
    waited: float = 0.0
    by_endpoint: dict[str, int] = field(default_factory=dict)


class ApiClient:
    """A JSON/GraphQL client for one source: one base URL, one set of credentials.

    Every request is retried on 5xx, timeouts, connection resets, truncated bodies and rate
    limits, with exponential backoff and jitter or the wait the server asks for, until either the
    attempts or `policy.max_wait` seconds of waiting run out; then a `SourceUnavailableError`
    says what happened. Client errors (401/403/404/other 4xx) fail at once with a message that
    says what to do. Secret values are removed from every message.
    """

    def __init__(
        self,
        *,
        source: str,
        base_url: str,
        headers: Mapping[str, str] | None = None,
        secrets: Sequence[str] = (),
        credential_hint: str = "the configured token",
        throttle: Throttle | None = None,
        policy: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        user_agent: str = "sprintproof",
    ) -> None:
        self.source = source
        self.base_url = base_url.rstrip("/")
        self.policy = policy or RetryPolicy()
        self.throttle = throttle or Throttle()
        self.credential_hint = credential_hint
        self.stats = ClientStats()
        self._secrets = tuple(s for s in secrets if s and len(s) >= 4)
        self._sleep = sleep
        self._pause_until = 0.0
        self._http = httpx.Client(
            headers={"User-Agent": user_agent, "Accept": "application/json", **(headers or {})},
            timeout=httpx.Timeout(self.policy.timeout),
            transport=transport,
            follow_redirects=True,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def set_header(self, name: str, value: str, *, secret: bool = False) -> None:
        """Replace a header (e.g. a refreshed installation token)."""
        self._http.headers[name] = value
        if secret:
            self._secrets = (*self._secrets, value)

    # ------------------------------------------------------------------ public calls

    def url(self, path: str) -> str:
        return (
            path
            if path.startswith(("http://", "https://"))
            else f"{self.base_url}/{path.lstrip('/')}"
        )

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        what: str | None = None,
        ok_statuses: Sequence[int] = (),
        expect_json: bool = True,
    ) -> httpx.Response:
        """Send with retries; returns a 2xx response (or one with a status in ok_statuses).

        With `expect_json` a JSON answer must be one complete JSON document (a cut body is
        retried); downloads of other formats (NDJSON files) pass False and check themselves.
        """
        url = self.url(path)
        endpoint = what or f"{method} {self._public(url)}"
        started = time.monotonic()
        waited = 0.0

        def wait(state: tenacity.RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            backoff = min(
                self.policy.backoff_max,
                self.policy.backoff_initial * 2 ** (state.attempt_number - 1),
            )
            jittered = random.uniform(backoff / 2, backoff)
            if isinstance(exc, _Retry) and exc.after is not None:
                return exc.after + random.uniform(0, min(1.0, exc.after / 10 + 0.05))
            return jittered

        def stop(state: tenacity.RetryCallState) -> bool:
            upcoming = state.upcoming_sleep or 0.0
            return (
                state.attempt_number >= self.policy.attempts
                or waited + upcoming > self.policy.max_wait
            )

        def before_sleep(state: tenacity.RetryCallState) -> None:
            nonlocal waited
            waited += state.upcoming_sleep or 0.0
            self.stats.retries += 1
            self.stats.waited += state.upcoming_sleep or 0.0
            exc = state.outcome.exception() if state.outcome else None
            log.warning(
                "%s: %s: %s; retrying in %.1fs (attempt %d of %d)",
                self.source,
                endpoint,
                self._redact(str(exc)),
                state.upcoming_sleep or 0.0,
                state.attempt_number + 1,
                self.policy.attempts,
            )

        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(_Retry),
            wait=wait,
            stop=stop,
            before_sleep=before_sleep,
            sleep=self._sleep,
            reraise=True,
        )
        try:
            return retrying(
                self._attempt,
                method,
                url,
                endpoint,
                params,
                json_body,
                tuple(ok_statuses),
                expect_json,
            )
        except _Retry as exc:
            spent = time.monotonic() - started
            raise SourceUnavailableError(
                f"{self.source}: {endpoint}: {self._redact(exc.reason)}; gave up after "
                f"{self.policy.attempts} attempts and {spent:.0f}s (waiting allowed: "
                f"{self.policy.max_wait:.0f}s); try again later or raise max_wait_seconds"
            ) from None

    def get_json(
        self, path: str, *, params: Mapping[str, Any] | None = None, what: str | None = None
    ) -> Any:
        return self.json("GET", path, params=params, what=what)

    def json(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        what: str | None = None,
    ) -> Any:
        response = self.request(method, path, params=params, json_body=json_body, what=what)
        parsed = response.extensions.get(_PARSED, _UNSET)
        if parsed is not _UNSET:
            return parsed
        return response.json() if response.content else None

    def graphql(
        self, path: str, query: str, variables: Mapping[str, Any] | None = None, *, what: str
    ) -> dict[str, Any]:
        """POST a GraphQL query; returns `data`, raising on GraphQL errors (after rate-limit retries)."""
        body = self.json(
            "POST", path, json_body={"query": query, "variables": dict(variables or {})}, what=what
        )
        if not isinstance(body, dict):
            raise SourceResponseError(f"{self.source}: {what}: expected a JSON object with 'data'")
        errors = body.get("errors")
        data = body.get("data")
        if errors:
            first = errors[0] if isinstance(errors, list) and errors else errors
            message = first.get("message", str(first)) if isinstance(first, dict) else str(first)
            kind = first.get("type") if isinstance(first, dict) else None
            if kind == "NOT_FOUND":
                raise SourceNotFoundError(f"{self.source}: {what}: {self._redact(message)}; check the name and that {self.credential_hint} can see it")  # fmt: skip
            if kind in ("FORBIDDEN", "INSUFFICIENT_SCOPES"):
                raise SourceAccessError(f"{self.source}: {what}: {self._redact(message)}")
            raise SourceResponseError(f"{self.source}: {what}: the API answered with an error: {self._redact(message)}")  # fmt: skip
        if not isinstance(data, dict):
            raise SourceResponseError(f"{self.source}: {what}: expected 'data' in the response")
        return data

    # ------------------------------------------------------------------ one attempt

    def _attempt(
        self,
        method: str,
        url: str,
        endpoint: str,
        params: Mapping[str, Any] | None,
        json_body: Any,
        ok_statuses: tuple[int, ...],
        expect_json: bool = True,
    ) -> httpx.Response:
        pause = self._pause_until - time.time()
        if pause > 0:
            if pause > self.policy.max_wait:
                raise SourceUnavailableError(
                    f"{self.source}: {endpoint}: the rate limit is spent and resets in {pause:.0f}s, "
                    f"more than the allowed wait ({self.policy.max_wait:.0f}s); run again later"
                )
            log.warning("%s: rate limit spent; waiting %.0fs for the reset", self.source, pause)
            self.stats.waited += pause
            self._sleep(pause)
            self._pause_until = 0.0  # waited once; the next response says whether to wait again
        self.stats.requests += 1
        key = endpoint.split("?", 1)[0]
        self.stats.by_endpoint[key] = self.stats.by_endpoint.get(key, 0) + 1
        try:
            response = self._http.request(method, url, params=params, json=json_body)
            response.read()
        except httpx.TimeoutException as exc:
            raise _Retry(f"timed out ({type(exc).__name__})") from None
        except httpx.TransportError as exc:
            raise _Retry(f"connection failed ({type(exc).__name__}: {exc})") from None
        log.debug("%s %s -> %s", method, self._public(url), response.status_code)
        pause_next = self.throttle.pause(response)
        if pause_next > 0:
            self._pause_until = time.time() + pause_next
        after = self.throttle.retry_after(response)
        if after is not None:
            if after > self.policy.max_wait:
                raise SourceUnavailableError(
                    f"{self.source}: {endpoint}: rate limited (HTTP {response.status_code}) for "
                    f"{after:.0f}s, more than the allowed wait ({self.policy.max_wait:.0f}s); run again later"
                )
            raise _Retry(f"rate limited (HTTP {response.status_code})", after)
        status = response.status_code
        if status in ok_statuses or 200 <= status < 300:
            if (
                expect_json
                and response.content
                and "json" in response.headers.get("content-type", "json")
            ):
                try:
                    # Parsed once here; `json()` hands this result to the caller.
                    response.extensions[_PARSED] = json.loads(response.content)
                except ValueError:
                    raise _Retry("the response was not complete JSON") from None
            return response
        if status in _RETRY_STATUSES:
            raise _Retry(f"server error (HTTP {status})")
        message = self._redact(_error_message(response))
        detail = f": {message}" if message else ""
        if status == 401:
            raise SourceAuthError(
                f"{self.source}: {endpoint}: the credentials were refused (HTTP 401){detail}; check that {self.credential_hint} is valid and not expired"
            )
        if status == 403:
            hint = self._redact(self.throttle.forbidden_hint(response))
            raise SourceAccessError(
                f"{self.source}: {endpoint}: access denied (HTTP 403){detail}; {hint}"
            )
        if status == 404:
            raise SourceNotFoundError(
                f"{self.source}: {endpoint}: not found (HTTP 404){detail}; check the name in the configuration and that {self.credential_hint} can see it"
            )
        raise SourceError(f"{self.source}: {endpoint}: HTTP {status}{detail}")

    # ------------------------------------------------------------------ helpers

    def _public(self, url: str) -> str:
        return self._redact(url)

    def _redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text


def _error_message(response: httpx.Response) -> str:
    """The vendor's own error text, shortened (GitHub/GitLab `message`, Jira `errorMessages`)."""
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip().splitlines()
        return text[0][:_MESSAGE_MAX] if text else ""
    parts: list[str] = []
    if isinstance(body, dict):
        for key in ("message", "error", "error_description", "errorMessage"):
            value = body.get(key)
            if isinstance(value, str) and value:
                parts.append(value)
        for key in ("errorMessages", "errors"):
            value = body.get(key)
            if isinstance(value, list):
                parts += [
                    str(v.get("message", v)) if isinstance(v, dict) else str(v) for v in value[:3]
                ]
            elif isinstance(value, dict):
                parts += [f"{k}: {v}" for k, v in list(value.items())[:3]]
    return "; ".join(parts)[:_MESSAGE_MAX]


def require(
    value: Any, kind: type | tuple[type, ...], source: str, what: str, expected: str
) -> Any:
    """Check a payload part's type; a mismatch is a SourceResponseError naming the endpoint."""
    if not isinstance(value, kind):
        got = type(value).__name__ if value is not None else "nothing"
        raise SourceResponseError(f"{source}: {what}: expected {expected}, got {got}; the API's answer is not in the documented shape")  # fmt: skip
    return value
