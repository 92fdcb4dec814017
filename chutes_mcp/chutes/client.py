"""`ChutesClient`: every call to Chutes goes through here.

Per request: the credential's rate limiter, then (for invocations) the model's circuit breaker, asked
right before the request leaves, then the HTTP call over the shared pool, then typed errors. Retries wrap
whole attempts and stop as soon as a stream has produced content. With a Redis store, the limiter and
the breakers are shared with the other replicas (see `chutes_mcp.shared.redis_store`).
"""

from __future__ import annotations

import contextlib
import copy
import json
import logging
from collections.abc import AsyncGenerator, Iterator, Mapping, Sequence
from dataclasses import replace
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import urlencode

import anyio
import httpx2

from chutes_mcp.chutes.auth.credentials import Credentials, credentials_from_settings
from chutes_mcp.chutes.chat.chunks import ChunkDecoder, result_from_completion
from chutes_mcp.chutes.chat.request import ChatRequest, build_chat_body
from chutes_mcp.chutes.embeddings import vectors as embedding_vectors
from chutes_mcp.chutes.errors import (
    AuthInvalidError,
    BadRequestError,
    ChutesError,
    ChutesTimeoutError,
    NetworkError,
    UpstreamError,
)
from chutes_mcp.chutes.http.error_bodies import error_from_response, error_from_stream_line
from chutes_mcp.chutes.http.pool import InsecureCredentialError, build_http_client
from chutes_mcp.chutes.http.sse import DoneMarker, MalformedStreamError, SSEDecoder, SSEItem
from chutes_mcp.chutes.resilience.breaker import Breaker, BreakerCall, BreakerRegistry, BreakerSnapshot
from chutes_mcp.chutes.resilience.limiter import LimiterState, RateLimiter
from chutes_mcp.chutes.resilience.retry import RetryPolicy, with_retries
from chutes_mcp.chutes.types import (
    ChatEvent,
    ChatResult,
    EmbedResult,
    QuotaHeaders,
    QuotaUsage,
    ResponseMeta,
    RetryRecord,
    TextDelta,
    Usage,
)
from chutes_mcp.config import Settings
from chutes_mcp.log import enabled, get_logger

if TYPE_CHECKING:
    from chutes_mcp.shared.redis_store import RedisStore

INVOCATION_ID_HEADER = "x-chutes-invocationid"
# `GET /chutes/` pages: chutes-api allows up to 5000 a page, 100 pages; a few hundred a page keeps each
# answer small (items carry readmes), and 4 pages is more chutes of one template than Chutes has.
CHUTE_LIST_PAGE = 500
CHUTE_LIST_MAX_PAGES = 4
# Reads after `[DONE]` to reach the end of the body; an upstream that says more is hung up on.
_DRAIN_READS = 8
log = get_logger(__name__)


@contextlib.contextmanager
def _deadline(seconds: float) -> Iterator[None]:
    """One overall deadline for a call, retries and waits included, reported as a typed `timeout`."""
    try:
        with anyio.fail_after(max(seconds, 0.0)):
            yield
    except TimeoutError:
        raise ChutesTimeoutError(f"no complete answer within {seconds:g} s") from None


async def _close_now(response: httpx2.Response) -> None:
    """Close a streamed response even inside a cancelled scope: a cancelled call must hang up on
    Chutes at once, and an interrupted close would leave the upstream generating (and billing)."""
    with anyio.CancelScope(shield=True):
        await response.aclose()


def _meta(headers: Mapping[str, str], retries: tuple[RetryRecord, ...]) -> ResponseMeta:
    return ResponseMeta(
        invocation_id=headers.get(INVOCATION_ID_HEADER),
        quota=QuotaHeaders.from_headers(headers),
        attempts=len(retries) + 1,
        retries=retries,
    )


async def _json_body(response: httpx2.Response) -> Any:
    try:
        return json.loads(await response.aread())
    except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser goes
        raise UpstreamError(
            f"Chutes answered {response.status_code} with a body that is not JSON",
            status=response.status_code,
            retryable=True,
            invocation_id=response.headers.get(INVOCATION_ID_HEADER),
        ) from None


class _LiveStream:
    """One open SSE response, decoded into chat events; every error keeps the text produced so far."""

    def __init__(
        self, response: httpx2.Response, model: str, *, ends_at: float, timeout_s: float, enclosed: bool
    ) -> None:
        self.response = response
        self._pieces = response.aiter_bytes()
        self._ends_at = ends_at
        self._timeout_s = timeout_s
        self._enclosed = enclosed
        self._sse = SSEDecoder()
        self.decoder = ChunkDecoder(model)
        self._text: list[str] = []
        self.started = False
        self.finished = False
        self.invocation_id = response.headers.get(INVOCATION_ID_HEADER)
        # A failure that came in the same read as events before it: raised once those are handed over.
        self._deferred: ChutesError | None = None

    def _fail(self, error: ChutesError) -> ChutesError:
        error.partial_text = "".join(self._text)
        if self.started:
            # The client never retries after content; the partial answer travels with the error.
            error.retryable = False
        return error

    async def next_events(self) -> list[ChatEvent] | None:
        """The events of the next read(s) of the body; None once the stream ended cleanly."""
        if self._deferred is not None:
            error, self._deferred = self._deferred, None
            raise error
        while not self.finished:
            items: Sequence[SSEItem | None]
            try:
                items = self._sse.feed(await self._read())
            except StopAsyncIteration:
                items = [*self._sse.close(), None]
            except httpx2.TimeoutException:
                raise self._fail(
                    ChutesTimeoutError("the stream stalled", invocation_id=self.invocation_id)
                ) from None
            except httpx2.TransportError as exc:
                raise self._fail(
                    NetworkError.from_transport(exc, "reading the stream", invocation_id=self.invocation_id)
                ) from None
            except MalformedStreamError as exc:
                raise self._fail(
                    UpstreamError(str(exc), retryable=True, invocation_id=self.invocation_id)
                ) from None
            events = self._decode(items)
            if events:
                return events
        return None

    async def drain(self) -> None:
        """Read to the end of the body after `[DONE]`. A response closed with its body unread takes its
        connection down with it; read to the end, the connection goes back to the pool for the next call."""
        for _ in range(_DRAIN_READS):
            try:
                await self._read()
            except (StopAsyncIteration, httpx2.HTTPError, ChutesTimeoutError):
                return

    async def _read(self) -> bytes:
        """The next piece of the body, as it came off the network; StopAsyncIteration at its end.

        The call's deadline is armed around each read (a cancel scope must not span the `yield` of
        `chat_stream`), unless the caller's own scopes already end the read by then. A caller that says
        so up front (`run_chat`) spares even the check, which costs more than a token's decoding. A
        bare CancelScope: `fail_after`'s layers of context managers cost more than the read.
        """
        if self._enclosed or anyio.current_effective_deadline() <= self._ends_at:
            return await self._pieces.__anext__()
        with anyio.CancelScope(deadline=self._ends_at):
            return await self._pieces.__anext__()
        raise ChutesTimeoutError(f"no complete answer within {self._timeout_s:g} s")

    def _decode(self, items: Sequence[SSEItem | None]) -> list[ChatEvent]:
        events: list[ChatEvent] = []
        try:
            self._decode_into(events, items)
        except ChutesError as error:
            if not events:
                raise
            # A proxy may pass several SSE events in one piece: the answer that came before the failure
            # still reaches the caller, and the failure follows on the next read.
            self._deferred = error
        return events

    def _decode_into(self, events: list[ChatEvent], items: Sequence[SSEItem | None]) -> None:
        for item in items:
            if isinstance(item, DoneMarker):
                self.finished = True
            elif item is None:  # end of body without [DONE]
                if self.decoder.finish_reason is None:
                    raise self._fail(
                        NetworkError(
                            "the stream ended before the answer was complete",
                            invocation_id=self.invocation_id,
                        )
                    )
                self.finished = True
            elif "error" in item and not item.get("choices"):
                error = error_from_stream_line(item, invocation_id=self.invocation_id)
                error.retryable = error.retryable or not self.started
                raise self._fail(error)
            else:
                for event in self.decoder.feed(item):
                    self.started = True
                    if isinstance(event, TextDelta):
                        self._text.append(event.text)
                    events.append(event)


def settings_identity(settings: Settings) -> str:
    """Whose limit and breakers the server's own credential shares with other replicas (kept in Redis
    only as an HMAC): the key or token itself; for `chutes-mcp login` tokens, which rotate, the app."""
    for secret in (settings.api_key, settings.oauth_token):
        if secret is not None:
            return secret.get_secret_value()
    return f"oauth_file:{settings.client_id}" if settings.client_id else "anonymous"


class ChutesClient:
    """The Chutes client of one credential: one HTTP pool, one rate limiter, one breaker per model.

    `identity` names the credential in the shared store (`store`, Redis): every replica with the same
    identity shares one limit and one set of breakers.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        http: httpx2.AsyncClient | None = None,
        credentials: Credentials | None = None,
        store: RedisStore | None = None,
        identity: str | None = None,
    ) -> None:
        self.settings = settings
        self._owns_http = http is None
        self._http = http if http is not None else build_http_client(settings)
        self.credentials = (
            credentials if credentials is not None else credentials_from_settings(settings, self._http)
        )
        shared_as = identity if identity is not None else settings_identity(settings)
        self.limiter = RateLimiter(settings.rate_limit_rpm, settings.burst, store=store, identity=shared_as)
        self.breakers = BreakerRegistry(store=store, identity=shared_as)
        self._policy = RetryPolicy(max_retries=settings.max_retries)

    def with_credentials(self, credentials: Credentials) -> ChutesClient:
        """This client calling with other credentials, on the same pool, rate limiter and breakers: one
        signed-in user is one tenant, whichever of their successive access tokens a call carries.

        Only for a client on a pool it was given (a tenant's), so that no copy can close the pool.
        """
        if self._owns_http:
            raise RuntimeError("with_credentials needs a client on a shared pool, such as a tenant's")
        view = copy.copy(self)
        view.credentials = credentials
        return view

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    @property
    def http(self) -> httpx2.AsyncClient:
        return self._http

    def limiter_state(self) -> LimiterState:
        return self.limiter.state()

    async def breaker_states(self) -> list[BreakerSnapshot]:
        return await self.breakers.snapshots()

    # -- one HTTP exchange ------------------------------------------------------------------------

    async def _exchange(
        self,
        method: str,
        url: str,
        *,
        token: str | None,
        body: Any,
        headers: Mapping[str, str],
        stream: bool,
        breaker: BreakerCall | None,
    ) -> httpx2.Response:
        # The breaker is asked by the limiter: while the request waits, and once its slot is taken.
        await self.limiter.acquire(breaker.before_call if breaker is not None else None)
        request_headers = dict(headers)
        if token is not None:
            request_headers["Authorization"] = f"Bearer {token}"
        request = self._http.build_request(method, url, json=body, headers=request_headers)
        try:
            response = await self._http.send(request, stream=stream)
        except httpx2.TimeoutException as exc:
            raise ChutesTimeoutError(f"{type(exc).__name__} calling {request.url.host}") from None
        except httpx2.TransportError as exc:
            raise NetworkError.from_transport(exc, f"calling {request.url.host}", url=request.url) from None
        except InsecureCredentialError as exc:
            raise BadRequestError(str(exc), hint="Use an https:// base URL.") from None
        if enabled(logging.DEBUG):
            log.debug(
                "chutes.http",
                method=method,
                host=request.url.host,
                path=request.url.path,
                status=response.status_code,
                invocation_id=response.headers.get(INVOCATION_ID_HEADER),
            )
        return response

    async def _send(
        self,
        method: str,
        url: str,
        *,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        stream: bool = False,
        authenticate: bool = True,
        breaker: BreakerCall | None = None,
    ) -> httpx2.Response:
        """One attempt; a 401 on an OAuth token triggers one refresh and one resend."""
        headers = headers or {}
        token = await self.credentials.bearer() if authenticate else None
        response = await self._exchange(
            method, url, token=token, body=body, headers=headers, stream=stream, breaker=breaker
        )
        if response.status_code == 401 and token is not None:
            try:
                fresh = await self.credentials.after_unauthorized(token)
            except BaseException:
                # Credentials that end the call here (no way to a new token) must not leave the
                # refused response's connection held open.
                await _close_now(response)
                raise
            if fresh is not None and fresh != token:
                await response.aclose()
                response = await self._exchange(
                    method, url, token=fresh, body=body, headers=headers, stream=stream, breaker=breaker
                )
        if response.status_code >= 300:
            content = await response.aread()
            await response.aclose()
            invocation_id = response.headers.get(INVOCATION_ID_HEADER)
            if response.status_code < 400:
                raise UpstreamError(
                    f"unexpected redirect ({response.status_code}) to {response.headers.get('location', '?')}",
                    status=response.status_code,
                    hint="Redirects are not followed so credentials stay with the configured host; "
                    "check the base URLs.",
                )
            raise error_from_response(
                response.status_code, content, response.headers, invocation_id=invocation_id
            )
        return response

    def _invocation_headers(self, tee_only: bool) -> dict[str, str]:
        return {"X-TEE-Only": "true"} if tee_only or self.settings.tee_only else {}

    async def _guarded(self, breaker: Breaker | None, attempt: Any) -> Any:
        """Run `attempt(call)` (its `BreakerCall`, None without a breaker) and tell the breaker how it
        went; refusals of our own guards, a cancel, and answers about the request rather than the model
        say nothing of it."""
        call = BreakerCall(breaker) if breaker is not None else None
        try:
            value = await attempt(call)
        except ChutesError as exc:
            if call is not None and exc.retryable and not exc.refused_here:
                await call.breaker.record_failure()
            elif call is not None:
                await call.no_verdict()
            raise
        except BaseException:
            if call is not None:
                await call.no_verdict()
            raise
        if call is not None:
            await call.breaker.record_success()
        return value

    async def _json_call(
        self,
        method: str,
        url: str,
        *,
        body: Any = None,
        model: str | None = None,
        tee_only: bool = False,
        timeout_s: float | None = None,
        authenticate: bool = True,
    ) -> tuple[Any, ResponseMeta]:
        breaker = self.breakers.get(model) if model else None
        headers = self._invocation_headers(tee_only) if model else {}

        async def attempt(call: BreakerCall | None) -> tuple[Any, Mapping[str, str]]:
            response = await self._send(
                method, url, body=body, headers=headers, authenticate=authenticate, breaker=call
            )
            return await _json_body(response), response.headers

        async def guarded() -> tuple[Any, Mapping[str, str]]:
            result: tuple[Any, Mapping[str, str]] = await self._guarded(breaker, attempt)
            return result

        deadline = timeout_s or self.settings.timeout_s
        with _deadline(deadline):
            (payload, response_headers), retries = await with_retries(
                guarded, self._policy, deadline_s=deadline
            )
        return payload, _meta(response_headers, retries)

    # -- public calls -----------------------------------------------------------------------------

    async def chat(self, request: ChatRequest) -> ChatResult:
        """A non-streamed chat completion."""
        body = build_chat_body(request, stream=False)
        payload, meta = await self._json_call(
            "POST",
            f"{self.settings.api_base}/chat/completions",
            body=body,
            model=request.model,
            tee_only=request.tee_only,
            timeout_s=request.timeout_s,
        )
        if not isinstance(payload, Mapping):
            raise UpstreamError("the chat completion is not a JSON object", invocation_id=meta.invocation_id)
        return result_from_completion(payload, requested_model=request.model, meta=meta)

    async def chat_stream(
        self, request: ChatRequest, *, enclosed: bool = False
    ) -> AsyncGenerator[ChatEvent, None]:
        """Stream a chat completion as typed events, ending with `UsageEvent` (when sent) and `Done`.

        Failures before the first content are retried; after it, the error is raised with the partial
        text in `partial_text`. Closing the iterator early closes the upstream stream. `enclosed`: the
        caller iterates the whole stream inside a cancel scope that ends by the request's deadline.
        """
        body = build_chat_body(request, stream=True)
        url = f"{self.settings.api_base}/chat/completions"
        headers = self._invocation_headers(request.tee_only)
        breaker = self.breakers.get(request.model)
        timeout_s = request.timeout_s or self.settings.timeout_s
        ends_at = anyio.current_time() + timeout_s

        async def open_until_content(call: BreakerCall | None) -> tuple[_LiveStream, list[ChatEvent]]:
            response = await self._send("POST", url, body=body, headers=headers, stream=True, breaker=call)
            stream = _LiveStream(
                response, request.model, ends_at=ends_at, timeout_s=timeout_s, enclosed=enclosed
            )
            try:
                first = await stream.next_events()
            except BaseException:
                await _close_now(response)
                raise
            return stream, first or []

        async def guarded() -> tuple[_LiveStream, list[ChatEvent]]:
            result: tuple[_LiveStream, list[ChatEvent]] = await self._guarded(breaker, open_until_content)
            return result

        policy = replace(self._policy, give_up_on=request.failover_codes)
        # An enclosing deadline ends first, and its owner reports the timeout.
        with contextlib.nullcontext() if enclosed else _deadline(timeout_s):
            (stream, pending), retries = await with_retries(guarded, policy, deadline_s=timeout_s)
        try:
            while pending:
                for event in pending:
                    yield event
                # A cancel scope must not span a `yield`: the stream re-arms the deadline around each read.
                pending = await stream.next_events() or []
            await stream.drain()
            meta = _meta(stream.response.headers, retries)
            for event in stream.decoder.finish(meta):
                yield event
        finally:
            await _close_now(stream.response)

    async def embed(
        self,
        texts: str | Sequence[str],
        model: str,
        *,
        dimensions: int | None = None,
        base_url: str | None = None,
        timeout_s: float | None = None,
        tee_only: bool = False,
    ) -> EmbedResult:
        """Embeddings from the embed host (or a per-chute host given as `base_url`, e.g. `…/v1`).

        They are asked for in base64: a quarter of the bytes of the float form, and no float parsing;
        an engine that answers floats anyway is read as well.
        """
        inputs = [texts] if isinstance(texts, str) else list(texts)
        if not inputs:
            raise BadRequestError("no input to embed", hint="Pass at least one string.")
        body: dict[str, Any] = {"model": model, "input": inputs, "encoding_format": "base64"}
        if dimensions is not None:
            body["dimensions"] = dimensions
        payload, meta = await self._json_call(
            "POST",
            f"{base_url or self.settings.embed_base}/embeddings",
            body=body,
            model=model,
            tee_only=tee_only,
            timeout_s=timeout_s,
        )
        try:
            rows = sorted(payload["data"], key=lambda row: row.get("index", 0))
            vectors = tuple(embedding_vectors.from_wire(row["embedding"]) for row in rows)
        except (TypeError, KeyError, ValueError, AttributeError):
            raise UpstreamError(
                "the embeddings response has no data[].embedding", invocation_id=meta.invocation_id
            ) from None
        return EmbedResult(
            vectors=vectors,
            model=payload.get("model") or model,
            usage=Usage.from_payload(payload.get("usage")),
            meta=meta,
        )

    async def list_models_raw(self) -> list[dict[str, Any]]:
        """`GET /v1/models` as Chutes sends it. The list is public: when a stale or wrong token gets a 401,
        the call is repeated without it, as OpenClaw does."""
        url = f"{self.settings.api_base}/models"
        try:
            payload, _ = await self._json_call("GET", url)
        except AuthInvalidError:
            payload, _ = await self._json_call("GET", url, authenticate=False)
        data = payload.get("data") if isinstance(payload, Mapping) else None
        if not isinstance(data, list):
            raise UpstreamError(
                "the model list has no data array", hint="Chutes changed its /v1/models shape?"
            )
        return [entry for entry in data if isinstance(entry, dict)]

    async def list_chutes_raw(self, template: str) -> list[dict[str, Any]]:
        """`GET /chutes/?include_public=true&template=…`: the public chutes of one `standard_template` (and
        the account's own), most invoked first, every page. Credentials are optional there: without any,
        or when a stale or wrong token gets a 401, the public chutes are asked for anonymously."""
        items: list[dict[str, Any]] = []
        for page in range(CHUTE_LIST_MAX_PAGES):
            query = urlencode(
                {"include_public": "true", "template": template, "limit": CHUTE_LIST_PAGE, "page": page}
            )
            url = f"{self.settings.management_base}/chutes/?{query}"
            if self.credentials.kind == "none":
                payload, _ = await self._json_call("GET", url, authenticate=False)
            else:
                try:
                    payload, _ = await self._json_call("GET", url)
                except AuthInvalidError:
                    payload, _ = await self._json_call("GET", url, authenticate=False)
            found = payload.get("items") if isinstance(payload, Mapping) else None
            if not isinstance(found, list):
                raise UpstreamError(
                    "the chute list has no items array", hint="Chutes changed its /chutes/ shape?"
                )
            items.extend(item for item in found if isinstance(item, dict))
            total = payload.get("total")
            if not found or not isinstance(total, int) or len(items) >= total:
                break
        return items

    async def _account_call(self, path: str) -> Any:
        if self.credentials.kind == "none":
            raise AuthInvalidError("no Chutes credential is configured")
        payload, _ = await self._json_call("GET", f"{self.settings.management_base}{path}")
        return payload

    async def me(self) -> dict[str, Any]:
        """`GET /users/me`: username, user_id, balance (USD) and more, as Chutes sends it."""
        payload = await self._account_call("/users/me")
        if not isinstance(payload, dict):
            raise UpstreamError("the account response is not a JSON object")
        return payload

    async def quota(self) -> QuotaUsage:
        """The account-wide daily request quota and how much of it is used."""
        payload = await self._account_call("/users/me/quota_usage/me")
        try:
            return QuotaUsage.model_validate(payload)
        except ValueError:
            raise UpstreamError("the quota response has no quota/used fields") from None
