"""The GraphQL API over the index (strawberry on an ASGI server, uvicorn).

Queries (the SPEC's): ``gpus(filters, sort, limit, offset)``, ``gpu(id)``,
``jobs(user, provider, status, limit, offset)``, ``job(id)``, ``myJobs(address)``; plus
``provider(address)`` with the reputation components and history, so renters can weigh them
their own way, and ``images``, ``indexer``. Subscriptions over WebSocket (graphql-transport-ws):
``jobStatusChanged(jobId)`` and ``newGPUAvailable`` (not where the gateway mounts the schema:
``make_app(subscriptions=False)`` serves queries over HTTP only). Limits: at most ``MAX_PAGE``
rows a page, and every list nested in a row (``Provider.gpus``, ``Provider.history``,
``Job.history``) takes a ``limit`` too (default ``NESTED_LIMIT``, at most ``MAX_PAGE``); at most
``MAX_OBJECTS`` objects an operation could return at worst (the limits multiplied along each
nesting, summed: ``CostLimit``); query depth ``MAX_DEPTH``, ``MAX_TOKENS`` tokens and
``MAX_ALIASES`` aliases a document; a request body of at most ``MAX_BODY`` bytes whose JSON
nests at most ``MAX_JSON_DEPTH`` deep (checked before it is parsed); numeric filters within what
the chain can hold. Each refused with a GraphQL error (``{"errors": [{"message": …}]}``: HTTP
400/413 for a request that is not a GraphQL operation, 200 for one the schema refuses) and one
log line, never a traceback.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import AsyncGenerator
from enum import Enum
from typing import Any

import strawberry
from sqlalchemy import Engine, and_, func, select
from strawberry.extensions import AddValidationRules, MaxTokensLimiter, ParserCache, ValidationCache
from strawberry.extensions.max_aliases import create_validator as create_alias_validator
from strawberry.extensions.query_depth_limiter import create_validator as create_depth_validator
from strawberry.types import Info
from graphql import FragmentSpreadNode, GraphQLError, ValidationContext, ValidationRule
from graphql.language import DocumentNode, FragmentDefinitionNode, Visitor, visit

from gpurent.indexer.cost import cost_limit
from gpurent.indexer.events import DecodedEvent
from gpurent.indexer import schema as s
from gpurent.limits import BPS, MAX_PRICE_PER_HOUR, UNMEASURED_BPS
from gpurent.safejson import JSONTooLarge, loads_bounded
from gpurent.units import TOKEN

MAX_PAGE, MAX_DEPTH, MAX_TOKENS, MAX_ALIASES = 100, 6, 2000, 20
NESTED_LIMIT = 20  # rows of a list nested in a row, by default
MAX_OBJECTS = 5000  # objects one operation could return at worst (the product of the limits along a nesting)
MAX_BODY = 64 * 1024  # bytes of one request body (or GET query string)
MAX_JSON_DEPTH = 32  # nesting of the request's JSON (the query, its variables and extensions)
MAX_PRICE = MAX_PRICE_PER_HOUR / TOKEN  # tokens per hour: no GPU costs more (a filter above it matches all)

log = logging.getLogger("gpurent.indexer.api")


def _engine(info: Info) -> Engine:
    return info.context["engine"]


def _page(limit: int, offset: int) -> None:
    if not 1 <= limit <= MAX_PAGE:
        raise ValueError(f"limit must be between 1 and {MAX_PAGE}, got {limit}")
    if offset < 0:
        raise ValueError("offset must be 0 or more")


def _address(value: str) -> str:
    text = value.strip().lower()
    if len(text) != 42 or not text.startswith("0x"):
        raise ValueError(f"{value!r} is not an address")
    return text


@strawberry.type
class ReputationEntry:
    block: int
    kind: str
    detail: strawberry.scalars.JSON


@strawberry.type
class Provider:
    address: str
    endpoint: str
    stake: str
    score: int | None
    uptime_bps: int | None
    response_bps: int | None
    penalty_points: int
    reports: int

    @strawberry.field(description="Score changes, reports, penalties, rewards and slashes, newest first")
    def history(self, info: Info, limit: int = NESTED_LIMIT) -> list[ReputationEntry]:
        _page(limit, 0)
        t = s.reputation_history
        with _engine(info).connect() as db:
            rows = db.execute(select(t).where(t.c.provider_address == self.address)
                              .order_by(t.c.block_number.desc(), t.c.log_index.desc()).limit(limit)).mappings()
            return [ReputationEntry(block=r["block_number"], kind=r["kind"], detail=json.loads(r["detail"]))
                    for r in rows]


    @strawberry.field(description="The provider's GPUs that are not retired, by id")
    def gpus(self, info: Info, limit: int = NESTED_LIMIT) -> list[Gpu]:
        _page(limit, 0)
        g = s.gpu_resources.c
        query = _gpu_query().where(and_(g.provider_address == self.address, g.retired.is_(False))).order_by(g.id)
        with _engine(info).connect() as db:
            return [_gpu(r) for r in db.execute(query.limit(limit)).mappings()]


def _provider(row: Any) -> Provider:
    return Provider(address=row["address"], endpoint=row["endpoint"], stake=row["stake_tokens"], score=row["score"],
                    uptime_bps=row["uptime_bps"], response_bps=row["response_bps"],
                    penalty_points=row["penalty_points"], reports=row["reports"])


@strawberry.type
class Gpu:
    id: str
    provider_address: str
    gpu_model: str
    vcpu: int
    memory_gb: int
    storage_gb: int
    price_per_hour: str
    available: bool
    retired: bool
    reputation: int | None = strawberry.field(description="The provider's score (0-1000)")
    total_uptime: int
    uptime_bps: int | None = strawberry.field(
        default=None, description="The provider's uptime component (0-10000); null until first measured")
    response_bps: int | None = strawberry.field(
        default=None, description="The provider's response component (0-10000); null until first measured")

    @strawberry.field
    def provider(self, info: Info) -> Provider | None:
        with _engine(info).connect() as db:
            row = db.execute(select(s.providers).where(s.providers.c.address == self.provider_address)).mappings().first()
        return _provider(row) if row else None


GPU_COLUMNS = (*s.gpu_resources.c, s.providers.c.score, s.providers.c.uptime_bps, s.providers.c.response_bps)


def _gpu(row: Any) -> Gpu:
    return Gpu(id=row["id"], provider_address=row["provider_address"], gpu_model=row["gpu_model"], vcpu=row["vcpu"],
               memory_gb=row["memory_gb"], storage_gb=row["storage_gb"], price_per_hour=row["price_per_hour_tokens"],
               available=row["availability"], retired=row["retired"], reputation=row["score"],
               total_uptime=row["total_uptime"], uptime_bps=row["uptime_bps"], response_bps=row["response_bps"])


def _gpu_query() -> Any:
    return select(*GPU_COLUMNS).select_from(
        s.gpu_resources.outerjoin(s.providers, s.providers.c.address == s.gpu_resources.c.provider_address))


@strawberry.type
class StatusChange:
    status: str
    block: int
    timestamp: int


@strawberry.type
class Job:
    id: str
    user: str
    provider: str
    resource_id: str
    image_cid: str
    status: str
    price_per_hour: str
    estimated_duration: int
    max_cost: str
    start_time: int | None
    end_time: int | None
    total_cost: str | None
    created_block: int

    @strawberry.field(description="The job's status changes, oldest first")
    def history(self, info: Info, limit: int = NESTED_LIMIT) -> list[StatusChange]:
        _page(limit, 0)
        t = s.job_status_history
        with _engine(info).connect() as db:
            rows = db.execute(select(t).where(t.c.job_id == self.id).order_by(t.c.block_number, t.c.log_index)
                              .limit(limit))
            return [StatusChange(status=r.status, block=r.block_number, timestamp=r.timestamp) for r in rows]


def _job(row: Any) -> Job:
    return Job(id=row["id"], user=row["user_address"], provider=row["provider_address"], resource_id=row["resource_id"],
               image_cid=row["image_cid"], status=row["status"], price_per_hour=row["price_per_hour_tokens"],
               estimated_duration=row["estimated_duration"], max_cost=row["max_cost_tokens"],
               start_time=row["start_time"], end_time=row["end_time"], total_cost=row["total_cost_tokens"],
               created_block=row["created_block"])


@strawberry.type
class Image:
    cid: str
    jobs: int
    first_seen: int


@strawberry.type
class IndexerInfo:
    block: int
    events: int
    chain_id: int
    marketplace: str = strawberry.field(description="The deployment indexed (its Marketplace address)")

    @strawberry.field(description="Rows per table")
    def rows(self, info: Info) -> strawberry.scalars.JSON:
        with _engine(info).connect() as db:
            return {t.name: db.execute(select(func.count()).select_from(t)).scalar_one() for t in s.DERIVED}


@strawberry.input
class GpuFilter:
    model: str | None = strawberry.field(default=None, description="Model contains this (any case)")
    min_vcpu: int | None = None
    min_memory_gb: int | None = None
    min_storage_gb: int | None = None
    max_price: float | None = strawberry.field(default=None, description="Tokens per hour")
    available: bool | None = True
    min_reputation: int | None = None
    min_uptime_bps: int | None = strawberry.field(
        default=None, description="The provider's uptime component at least this (0-10000; unmeasured counts 5000)")
    min_response_bps: int | None = strawberry.field(
        default=None, description="The provider's response component at least this (0-10000; unmeasured counts 5000)")
    provider: str | None = None
    include_retired: bool = False


@strawberry.enum
class GpuSort(Enum):
    PRICE_ASC = "price_asc"
    PRICE_DESC = "price_desc"
    REPUTATION_DESC = "reputation_desc"
    MEMORY_DESC = "memory_desc"
    NEWEST = "newest"


SORTS = {
    GpuSort.PRICE_ASC: (s.gpu_resources.c.price_per_hour_micro.asc(),),
    GpuSort.PRICE_DESC: (s.gpu_resources.c.price_per_hour_micro.desc(),),
    GpuSort.REPUTATION_DESC: (s.providers.c.score.desc(), s.gpu_resources.c.price_per_hour_micro.asc()),
    GpuSort.MEMORY_DESC: (s.gpu_resources.c.memory_gb.desc(),),
    GpuSort.NEWEST: (s.gpu_resources.c.registered_block.desc(),),
}


def find_gpus(engine: Engine, filters: GpuFilter | None = None, sort: GpuSort = GpuSort.PRICE_ASC,
              limit: int = 50, offset: int = 0) -> list[Gpu]:
    """The ``gpus`` query's rows (the GraphQL field and the gateway's REST route both call this)."""
    query = gpus_query(filters, sort, limit, offset)
    with engine.connect() as db:
        return [_gpu(r) for r in db.execute(query).mappings()]


def gpus_query(filters: GpuFilter | None = None, sort: GpuSort = GpuSort.PRICE_ASC, limit: int = 50,
               offset: int = 0) -> Any:
    """The SELECT of one page of ``find_gpus`` (ValueError for a filter out of its bounds)."""
    _page(limit, offset)
    f, g = filters or GpuFilter(), s.gpu_resources.c
    where = [] if f.include_retired else [g.retired == False]  # noqa: E712 - SQL, and index-friendly
    if f.available is not None:
        where.append(g.availability == f.available)
    if f.model:
        where.append(func.lower(g.gpu_model).contains(f.model.lower(), autoescape=True))
    if f.min_vcpu is not None:
        where.append(g.vcpu >= f.min_vcpu)
    if f.min_memory_gb is not None:
        where.append(g.memory_gb >= f.min_memory_gb)
    if f.min_storage_gb is not None:
        where.append(g.storage_gb >= f.min_storage_gb)
    if f.max_price is not None and f.max_price < MAX_PRICE:
        if f.max_price < 0:
            raise ValueError(f"maxPrice must be 0 or more, got {f.max_price}")
        where.append(g.price_per_hour_micro <= int(f.max_price * 10**6))
    if f.min_reputation is not None:
        where.append(s.providers.c.score >= f.min_reputation)
    for name, column, least in (("minUptimeBps", s.providers.c.uptime_bps, f.min_uptime_bps),
                                ("minResponseBps", s.providers.c.response_bps, f.min_response_bps)):
        if least is not None:  # a condition on the joined provider row, as the score's: the same plan
            if not 0 <= least <= BPS:
                raise ValueError(f"{name} must be between 0 and {BPS}, got {least}")
            where.append(func.coalesce(column, UNMEASURED_BPS) >= least)  # unmeasured: what the chain counts
    if f.provider:
        where.append(g.provider_address == _address(f.provider))
    return _gpu_query().where(and_(*where)).order_by(*SORTS[sort], g.id).limit(limit).offset(offset)


def find_gpu(engine: Engine, gpu_id: str) -> Gpu | None:
    """The ``gpu`` query's row."""
    with engine.connect() as db:
        row = db.execute(_gpu_query().where(s.gpu_resources.c.id == gpu_id.lower())).mappings().first()
    return _gpu(row) if row else None


def find_provider(engine: Engine, address: str) -> Provider | None:
    """The ``provider`` query's row."""
    with engine.connect() as db:
        row = db.execute(select(s.providers).where(s.providers.c.address == _address(address))).mappings().first()
    return _provider(row) if row else None


@strawberry.type
class Query:
    @strawberry.field(description="GPUs matching the filters (available ones by default)")
    def gpus(self, info: Info, filters: GpuFilter | None = None, sort: GpuSort = GpuSort.PRICE_ASC,
             limit: int = 50, offset: int = 0) -> list[Gpu]:
        return find_gpus(_engine(info), filters, sort, limit, offset)

    @strawberry.field
    def gpu(self, info: Info, id: str) -> Gpu | None:  # noqa: A002 - the SPEC's argument name
        return find_gpu(_engine(info), id)

    @strawberry.field
    def jobs(self, info: Info, user: str | None = None, provider: str | None = None, status: str | None = None,
             limit: int = 50, offset: int = 0) -> list[Job]:
        _page(limit, offset)
        j = s.instance_history.c
        where = []
        if user:
            where.append(j.user_address == _address(user))
        if provider:
            where.append(j.provider_address == _address(provider))
        if status:
            where.append(j.status == status.capitalize())
        query = select(s.instance_history).where(and_(True, *where)).order_by(j.created_block.desc(), j.id)
        with _engine(info).connect() as db:
            return [_job(r) for r in db.execute(query.limit(limit).offset(offset)).mappings()]

    @strawberry.field
    def job(self, info: Info, id: str) -> Job | None:  # noqa: A002
        with _engine(info).connect() as db:
            row = db.execute(select(s.instance_history).where(s.instance_history.c.id == id.lower())).mappings().first()
        return _job(row) if row else None

    @strawberry.field(name="myJobs")
    def my_jobs(self, info: Info, address: str, limit: int = 50, offset: int = 0) -> list[Job]:
        return Query.jobs(self, info, user=address, limit=limit, offset=offset)

    @strawberry.field
    def provider(self, info: Info, address: str) -> Provider | None:
        return find_provider(_engine(info), address)

    @strawberry.field(description="Images by how many jobs ran them")
    def images(self, info: Info, limit: int = 20) -> list[Image]:
        _page(limit, 0)
        t = s.images.c
        with _engine(info).connect() as db:
            rows = db.execute(select(s.images).order_by(t.download_count.desc(), t.cid).limit(limit)).mappings()
            return [Image(cid=r["cid"], jobs=r["download_count"], first_seen=r["created_at"]) for r in rows]

    @strawberry.field
    def indexer(self, info: Info) -> IndexerInfo:
        with _engine(info).connect() as db:
            block = db.execute(select(s.cursor.c.block_number)).scalar() or 0
            events = db.execute(select(func.count()).select_from(s.events)).scalar_one()
        manifest = info.context["manifest"]
        return IndexerInfo(block=block, events=events, chain_id=manifest.chain_id,
                           marketplace=manifest.contracts["Marketplace"])


class Hub:
    """Fans committed events out to subscriptions (called from the indexer's thread)."""

    def __init__(self) -> None:
        self._queues: set[tuple[asyncio.AbstractEventLoop, asyncio.Queue[list[DecodedEvent]]]] = set()
        self._lock = threading.Lock()

    def publish(self, events: list[DecodedEvent]) -> None:
        with self._lock:
            targets = list(self._queues)
        for loop, queue in targets:
            loop.call_soon_threadsafe(queue.put_nowait, events)

    async def listen(self) -> AsyncGenerator[list[DecodedEvent], None]:
        entry = (asyncio.get_running_loop(), asyncio.Queue())
        with self._lock:
            self._queues.add(entry)
        try:
            while True:
                yield await entry[1].get()
        finally:
            with self._lock:
                self._queues.discard(entry)


STATUS_EVENTS = {"JobCreated", "JobExtended", "JobAccepted", "JobStarted", "JobCompleted", "JobCancelled",
                 "JobDisputed", "DisputeResolved"}


@strawberry.type
class Subscription:
    @strawberry.subscription(name="jobStatusChanged")
    async def job_status_changed(self, info: Info, job_id: str) -> AsyncGenerator[Job, None]:
        wanted = job_id.lower()
        async for events in info.context["hub"].listen():
            if any(e.name in STATUS_EVENTS and str(e.args.get("jobId", "")).lower() == wanted for e in events):
                job = Query.job(Query(), info, wanted)
                if job is not None:
                    yield job

    @strawberry.subscription(name="newGPUAvailable")
    async def new_gpu_available(self, info: Info) -> AsyncGenerator[Gpu, None]:
        async for events in info.context["hub"].listen():
            for e in events:
                if e.name == "ResourceRegistered" or (e.name == "AvailabilityUpdated" and e.args["available"]):
                    gpu = Query.gpu(Query(), info, str(e.args["resourceId"]))
                    if gpu is not None and gpu.available:
                        yield gpu


def _sound_fragments(document: DocumentNode) -> bool:
    """Whether every fragment spread of ``document`` names a fragment it defines, and no fragment
    spreads itself (directly or not). The spec's rules (KnownFragmentNames, NoFragmentCycles)
    report a document that fails; the depth rule cannot measure one (it would raise KeyError,
    or recurse forever)."""
    spreads: dict[str | None, set[str]] = {}
    current: list[str | None] = [None]

    class Spreads(Visitor):
        def enter_fragment_definition(self, node: FragmentDefinitionNode, *_: Any) -> None:
            current[0] = node.name.value
            spreads.setdefault(current[0], set())

        def leave_fragment_definition(self, *_: Any) -> None:
            current[0] = None

        def enter_fragment_spread(self, node: FragmentSpreadNode, *_: Any) -> None:
            spreads.setdefault(current[0], set()).add(node.name.value)

    visit(document, Spreads())
    defined = {name for name in spreads if name is not None}
    if any(name not in defined for names in spreads.values() for name in names):
        return False
    done: set[str] = set()
    for start in defined:  # depth first without recursion: a cycle is a spread back onto the path
        path, stack = {start}, [(start, iter(spreads[start]))]
        while stack:
            name, children = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                path.discard(name)
                done.add(name)
            elif child in path:
                return False
            elif child not in done:
                path.add(child)
                stack.append((child, iter(spreads[child])))
    return True


_DEPTH_RULE = create_depth_validator(MAX_DEPTH, None, None)


class DepthRule(ValidationRule):
    """Strawberry's depth limit, run only on documents whose fragments it can follow."""

    def __init__(self, context: ValidationContext) -> None:
        super().__init__(context)
        if _sound_fragments(context.document):
            _DEPTH_RULE(context)


# The depth and alias rules, made once: the validation cache is keyed by the rule classes, and
# the stock extensions make new classes on every request (so every request was validated anew).
_RULES = [DepthRule, create_alias_validator(MAX_ALIASES)]


class Schema(strawberry.Schema):
    """The schema, logging each refused operation in one line (a refusal is not a failure of
    the indexer: no traceback); an unexpected exception keeps its traceback."""

    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        for error in errors:
            original = error.original_error
            if original is None or isinstance(original, ValueError):
                log.info("refused a GraphQL operation: %s", _one_line(error.message))
            else:
                super().process_errors([error], execution_context)


def _one_line(text: str) -> str:
    return " ".join(text.split())[:300]


_COST_LIMIT = cost_limit(MAX_OBJECTS, MAX_PAGE)


def make_schema(subscriptions: bool = True) -> strawberry.Schema:
    """The schema; without its subscriptions (``subscriptions=False``) where it must answer
    queries only (the gateway: no operation outlives its request)."""
    return Schema(query=Query, subscription=Subscription if subscriptions else None, extensions=[
        lambda: AddValidationRules(_RULES), lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        lambda: ParserCache(maxsize=256), lambda: ValidationCache(maxsize=256), _COST_LIMIT])


def make_app(engine: Engine, hub: Hub, manifest: Any, subscriptions: bool = True) -> Any:
    """The GraphQL app; ``subscriptions=False``: over HTTP only, a WebSocket refused at its
    handshake (HTTP 403) and the schema without subscriptions (none over HTTP either)."""
    from cross_web import HTTPException
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from strawberry.asgi import GraphQL
    from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL

    class App(GraphQL):  # type: ignore[misc]
        async def get_context(self, request: Any, response: Any = None) -> dict[str, Any]:
            return {"engine": engine, "hub": hub, "manifest": manifest, "request": request}

        def decode_json(self, data: str | bytes) -> object:
            try:
                return loads_bounded(data, MAX_JSON_DEPTH, max_bytes=MAX_BODY)
            except JSONTooLarge as err:
                raise HTTPException(413 if len(data) > MAX_BODY else 400, f"the request's JSON: {err}") from None

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] == "websocket" and not subscriptions:
                log.info("refused a GraphQL WebSocket: this endpoint answers queries over HTTP only")
                return await send({"type": "websocket.close", "code": 1008})  # before accept: HTTP 403
            if scope["type"] != "http":
                return await super().__call__(scope, receive, send)
            try:
                _check_length(scope)
                response = await self.run(Request(scope=scope, receive=_bounded(receive)))
            except HTTPException as err:  # a GraphQL error, not strawberry's plain text
                log.info("refused a GraphQL request: %s", _one_line(str(err.reason)))
                response = JSONResponse({"data": None, "errors": [{"message": str(err.reason)}]},
                                        status_code=err.status_code)
            await response(scope, receive, send)

    def _bounded(receive: Any) -> Any:
        """``receive``, refusing (413) a body that grows past MAX_BODY as it arrives: a chunked
        body announces no length, and is never read whole into memory."""
        seen = 0

        async def bounded_receive() -> Any:
            nonlocal seen
            message = await receive()
            if message.get("type") == "http.request":
                seen += len(message.get("body", b""))
                if seen > MAX_BODY:
                    raise HTTPException(413, f"the request is over the limit of {MAX_BODY:,} bytes")
            return message

        return bounded_receive

    def _check_length(scope: Any) -> None:
        """Refuses a body announced over MAX_BODY before it is read (413), or a Content-Length
        that is not a number of bytes (400)."""
        text = dict(scope.get("headers") or []).get(b"content-length")
        if text is None:
            return
        if not text.isdigit():
            raise HTTPException(400, f"Content-Length {text.decode(errors='replace')[:40]!r} is not a byte count")
        if int(text) > MAX_BODY:
            raise HTTPException(413, f"the request is {int(text):,} bytes, over the limit of {MAX_BODY:,}")

    protocols = (GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL) if subscriptions else ()
    return App(make_schema(subscriptions), graphql_ide=None, subscription_protocols=protocols)
