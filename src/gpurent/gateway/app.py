"""The gateway's HTTP API (FastAPI): REST over the index, wallet sign-in, the index's GraphQL.

Stateless: the chain is the system of record, the index (the indexer's database, read here
through the indexer's own GraphQL schema, so a filter means the same on both) answers reads,
and the only state of its own (nonces and rate-limit counts) lives in a ``Store`` that several
replicas may share. Every answer carries the security headers; every error is
``{"error": "one line"}`` with its status; bodies, pages and request rates are bounded.
"""


import functools
import html
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Path, Query, Request, WebSocket
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, Field, StrictBool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.concurrency import run_in_threadpool
from starlette.middleware.cors import CORSMiddleware
from starlette.types import Receive, Scope, Send

from gpurent.gateway.auth import AuthError, Authenticator, Session
from gpurent.gateway.cached import index_endpoints
from gpurent.gateway.errors import ApiError
from gpurent.gateway.providers import MAX_RELIABILITY
from gpurent.gateway.receipts import SETTLED  # the index's names of the statuses escrow paid out in
from gpurent.gateway.guard import Guard, Limits, retry_after
from gpurent.gateway.results import Results
from gpurent.gateway.siwe import stamp
from gpurent.gateway.store import Store, StoreFull
from gpurent.errors import GpurentError, NotAuthorized
from gpurent.output import safe_text
from gpurent.gateway.streams import Streams, progress_frames
from gpurent.gateway.uploads import Uploads
from gpurent.gateway.web import WebApp, is_api_path
from gpurent.monitoring import Exposition
from gpurent.monitoring.asgi import HttpMetrics, Instrumented, route_of
from gpurent.monitoring.exposition import CONTENT_TYPE
from gpurent.sdk.images_here import MAX_PROVIDERS, ImageProbe, agent_ask
from gpurent.sdk.proposals import MAX_VALUE_TEXT
from gpurent.sdk.provider import DelegatedEndpoint
from gpurent.sdk.unsigned import MAX_RAW_TX, UnsignedCalls
from gpurent.types import JobStatus
from gpurent.limits import MAX_REASON_LENGTH
from gpurent.units import DECIMALS, percent_to_bps


API = "/api/v1"
MAX_PAGE = 100

JOB_FIELDS = ("id user provider resourceId imageCid status pricePerHour estimatedDuration maxCost startTime endTime "
              "totalCost createdBlock history(limit: $changes) { status block timestamp }")
# a page of jobs with their first 20 status changes each (100 jobs x 20: within the index's cost
# bound); one job with up to 100
MY_JOBS_DOCUMENT = (f"query($a: String!, $limit: Int!, $offset: Int!, $changes: Int = 20) "
                    f"{{ myJobs(address: $a, limit: $limit, offset: $offset) {{ {JOB_FIELDS} }} }}")
JOB_DOCUMENT = f"query($id: String!, $changes: Int = 100) {{ job(id: $id) {{ {JOB_FIELDS} }} }}"
IMAGES_DOCUMENT = "query($limit: Int!) { images(limit: $limit) { cid jobs firstSeen } }"
JOB_ID = re.compile(r"0x[0-9a-fA-F]{64}")
ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
JobIdPath = Annotated[str, Path(pattern=f"^{JOB_ID.pattern}$")]
GpuIdPath = Annotated[str, Path(pattern=f"^{JOB_ID.pattern}$")]  # a GPU's id: 32 bytes of hex, as a job's
PRICE_PATTERN = r"^[0-9]{1,30}(\.[0-9]{1,18})?$"  # within uint256 and the token's 18 decimals; the SDK checks the rest
CHAIN_NAMES = {31337: "gpurent local (Anvil)"}
TOKEN_SYMBOL = "GPU"  # GPUToken's symbol (contracts/GPUToken.sol)
ENDED_RUN = ("Completed", "Resolved")  # the statuses a provider may have committed a result CID in
SORTS = ("price_asc", "price_desc", "reputation_desc", "memory_desc", "newest")


@dataclass
class GatewayConfig:
    engine: Any  # the index's SQLAlchemy engine
    manifest: Any  # the deployment the index follows (chain id, addresses)
    auth: Authenticator
    store: Store
    origins: tuple[str, ...] = ()
    limits: Limits = field(default_factory=Limits)
    gp: Any = None  # the SDK on the chain, for writes prepared here and signed by the user's wallet
    uploads: Uploads | None = None  # image uploads into IPFS (None: this gateway takes none)
    web: WebApp | None = None  # the web app's built files, served at / (None: no web app here)
    rpc_url: str | None = None  # the chain's JSON-RPC URL wallets are asked to add (GET /api/v1/chain)
    exposition: Exposition = field(default_factory=Exposition)  # this gateway's metrics (GET /metrics)
    images: ImageProbe | None = None  # asks agents what their caches hold (None: one over the index's endpoints)


class PermitRequest(BaseModel):
    gpuId: str = Field(max_length=66)
    imageCid: str = Field(max_length=128)
    durationSeconds: int = Field(gt=0, le=10**9)


class SignedPermit(BaseModel):
    """The permit a prepare route returned, as the wallet signed it."""

    maxCost: int = Field(gt=0, lt=2**256)
    deadline: int = Field(gt=0, lt=2**64)
    permitSignature: str = Field(max_length=200)


class CreateRequest(PermitRequest, SignedPermit):
    pass


class ExtendPermitRequest(BaseModel):
    extraSeconds: int = Field(gt=0, le=10**9)


class ExtendRequest(ExtendPermitRequest, SignedPermit):
    pass


class DisputeRequest(BaseModel):
    reason: str = Field(min_length=1, max_length=MAX_REASON_LENGTH)  # characters; bytes are checked by the SDK


class BroadcastRequest(BaseModel):
    rawTransaction: str = Field(max_length=2 * MAX_RAW_TX + 2)  # hex, with its 0x


class PauseRequest(BaseModel):
    paused: StrictBool  # true or false, not "yes"


class AvailabilityRequest(BaseModel):
    available: StrictBool  # true or false, not "yes"


class PriceRequest(BaseModel):
    pricePerHour: str = Field(pattern=PRICE_PATTERN)  # tokens, a plain decimal ("2.5"): exact, never a float


class UnstakeRequest(BaseModel):
    step: Literal["request", "cancel", "withdraw"]


class ProposalRequest(BaseModel):
    parameter: str = Field(max_length=40)  # a key of gpurent.sdk.proposals.PARAMETERS
    values: list[Annotated[str, Field(max_length=MAX_VALUE_TEXT)]] = Field(min_length=1, max_length=4)  # as text


class ResolveRequest(BaseModel):
    outcome: str = Field(max_length=32)  # provider-fault, user-fault or split
    evidenceCid: str = Field(max_length=128)


class ChallengeRequest(BaseModel):
    address: str = Field(max_length=64)


class SignInRequest(BaseModel):
    message: str = Field(max_length=4096)
    signature: str = Field(max_length=200)


def make_app(config: GatewayConfig) -> FastAPI:
    from gpurent.indexer.api import GpuFilter, GpuSort, Hub, find_gpu, find_gpus, find_provider
    from gpurent.indexer.api import make_app as graphql_app, make_schema

    schema = make_schema(subscriptions=False)
    hub = Hub()
    context = {"engine": config.engine, "hub": hub, "manifest": config.manifest}
    app = FastAPI(title="gpurent gateway", version="1", docs_url=None, redoc_url=None,
                  openapi_url="/openapi.json",
                  description="Rent GPUs on gpurent without running a node: REST over the index, "
                              "wallet sign-in (EIP-4361), non-custodial writes.")
    app.state.config = config

    def execute(document: str, **variables: Any) -> dict[str, Any]:
        result = schema.execute_sync(document, variable_values=variables, context_value=context)
        if result.errors:
            raise ApiError(400, safe_text(result.errors[0].message.splitlines()[0])[:300])
        return result.data or {}

    def session(request: Request) -> Session:
        header = request.headers.get("authorization", "")
        if not header.lower().startswith("bearer "):
            raise ApiError(401, "sign in first: Authorization: Bearer <token>", {"WWW-Authenticate": "Bearer"})
        try:
            found = config.auth.session(header[7:].strip())
        except AuthError as err:
            raise ApiError(401, str(err), {"WWW-Authenticate": 'Bearer error="invalid_token"'}) from None
        wait = config.store.hit(f"addr:{found.address}", config.limits.per_address, config.limits.window_s)
        if wait is not None:
            raise ApiError(429, f"too many requests from {found.address}", {"Retry-After": retry_after(wait)})
        return found

    Signed = Annotated[Session, Depends(session)]

    def token() -> dict[str, Any]:
        """The deployment's token: its address, symbol and decimals (amounts are in its base units)."""
        return {"address": config.manifest.contracts.get("GPUToken"), "symbol": TOKEN_SYMBOL, "decimals": DECIMALS}

    # ------------------------------------------------------------------ errors
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, err: ApiError) -> JSONResponse:
        return JSONResponse({"error": err.message}, status_code=err.status, headers=err.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, err: RequestValidationError) -> JSONResponse:
        first = err.errors()[0] if err.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path"))
        text = f"{where}: {first.get('msg', 'invalid')}" if where else str(first.get("msg", "invalid request"))
        return JSONResponse({"error": safe_text(text)[:300]}, status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, err: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"error": safe_text(str(err.detail))[:300]}, status_code=err.status_code,
                            headers=getattr(err, "headers", None))

    # ------------------------------------------------------------------ sign-in
    @app.post(f"{API}/auth/challenge", tags=["auth"], summary="An EIP-4361 message to sign, with a fresh nonce")
    def challenge(body: ChallengeRequest) -> dict[str, Any]:
        try:
            message = config.auth.challenge(body.address)
        except AuthError as err:
            raise ApiError(400, str(err)) from None
        except StoreFull as err:
            raise ApiError(503, str(err), {"Retry-After": retry_after(err.retry_after_s)}) from None
        return {"message": message.render(), "nonce": message.nonce,
                "expiresAt": stamp(message.expiration_time) if message.expiration_time else None}

    @app.post(f"{API}/auth/login", tags=["auth"], summary="The signed message for a session token (JWT)")
    def login(body: SignInRequest) -> dict[str, Any]:
        try:
            token, found = config.auth.sign_in(body.message, body.signature)
        except AuthError as err:
            raise ApiError(401, str(err)) from None
        return {"token": token, "tokenType": "Bearer", "address": found.address, "expiresAt": found.expires}

    @app.get(f"{API}/me", tags=["auth"], summary="Who the token signs in")
    def me(signed: Signed) -> dict[str, Any]:
        return {"address": signed.address, "expiresAt": signed.expires, "chainId": config.auth.chain_id}

    # ------------------------------------------------------------------ GPUs
    @app.get(f"{API}/gpus", tags=["gpus"], summary="GPUs matching the filters, one page")
    async def gpus(model: Annotated[str | None, Query(max_length=64)] = None,
                   min_vcpu: Annotated[int | None, Query(ge=0, le=2**16)] = None,
                   min_memory_gb: Annotated[int | None, Query(ge=0, le=2**32)] = None,
                   min_storage_gb: Annotated[int | None, Query(ge=0, le=2**32)] = None,
                   max_price: Annotated[float | None, Query(ge=0, le=1e12)] = None,
                   min_reputation: Annotated[int | None, Query(ge=0, le=1000)] = None,
                   min_uptime_pct: Annotated[Decimal | None, Query(ge=0, le=100, max_digits=9, description=(
                       "The provider's uptime component at least this percentage (0-100, decimals; "
                       "unmeasured counts 50)"))] = None,
                   min_response_pct: Annotated[Decimal | None, Query(ge=0, le=100, max_digits=9, description=(
                       "The provider's response component at least this percentage (0-100, decimals; "
                       "unmeasured counts 50)"))] = None,
                   provider: Annotated[str | None, Query(pattern=r"^0x[0-9a-fA-F]{40}$")] = None,
                   available: Annotated[str, Query(pattern="^(true|false|1|0|any)$",
                                                   description="true, false, or any (both)")] = "true",
                   sort: Annotated[str, Query(pattern="^(" + "|".join(SORTS) + ")$")] = "price_asc",
                   limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
                   offset: Annotated[int, Query(ge=0, le=10**7)] = 0) -> JSONResponse:
        filters = GpuFilter(model=model, min_vcpu=min_vcpu, min_memory_gb=min_memory_gb, min_storage_gb=min_storage_gb,
                            max_price=max_price, min_reputation=min_reputation, provider=provider,
                            min_uptime_bps=None if min_uptime_pct is None else percent_to_bps(min_uptime_pct),
                            min_response_bps=None if min_response_pct is None else percent_to_bps(min_response_pct),
                            available=None if available == "any" else available in ("true", "1"))
        # on the loop, as the index's GraphQL resolvers run (an indexed query of a millisecond: a
        # thread hop for it would cost more than it spares)
        rows = find_gpus(config.engine, filters, GpuSort(sort), limit, offset)  # the GraphQL field's own query
        # a JSONResponse of plain values: FastAPI's encoding pass would be a page's costliest step
        return JSONResponse({"items": [camel(row) for row in rows], "limit": limit, "offset": offset})

    @app.get(f"{API}/providers/{{address}}", tags=["gpus"],
             summary="A provider's GPUs, stake, reputation and its history, jobs and earnings by day")
    def provider(address: Annotated[str, Path(pattern=r"^0x[0-9a-fA-F]{40}$")]) -> dict[str, Any]:
        from gpurent.gateway.providers import dashboard

        found = dashboard(config.engine, address)
        if found is None:
            raise ApiError(404, f"no provider {address} in the index")
        found["indexedBlock"] = execute("{ indexer { block } }")["indexer"]["block"]  # a write of a later block: not shown yet
        if config.gp is not None:  # what it may withdraw and its stake's cooldown: the chain's, now
            from gpurent.gateway.providers import on_chain

            found["chain"] = on_chain(config.gp, to_checksum(address))
        return found

    @app.get(f"{API}/reliability", tags=["gpus"],
             summary="Providers' records from their jobs' chain events: completed, abandoned, disputes, time to start")
    def provider_reliability(provider: Annotated[list[str], Query()]) -> dict[str, Any]:
        from gpurent.gateway.providers import reliability

        if not 0 < len(provider) <= MAX_RELIABILITY or any(not ADDRESS.fullmatch(a) for a in provider):
            raise ApiError(400, f"provider: 1 to {MAX_RELIABILITY} addresses (0x and 40 hex digits)")
        return {"providers": reliability(config.engine, provider)}

    @app.get(f"{API}/operator/{{address}}", tags=["operator"],
             summary="An address's roles, the chain's parameters and pause state, and the disputes")
    def operator(address: Annotated[str, Path(pattern=r"^0x[0-9a-fA-F]{40}$")]) -> dict[str, Any]:
        from gpurent.gateway.operator import overview

        if config.gp is None:
            raise ApiError(503, "this gateway has no chain connection, so it reads no roles or parameters")
        return overview(config.gp, config.engine, address)

    @app.get(f"{API}/gpus/{{gpu_id}}", tags=["gpus"], summary="One GPU with its provider's reputation")
    async def gpu(gpu_id: Annotated[str, Path(pattern=r"^0x[0-9a-fA-F]{1,64}$")]) -> JSONResponse:
        found = find_gpu(config.engine, gpu_id)
        if found is None:
            raise ApiError(404, f"no GPU {gpu_id} in the index")
        owner = find_provider(config.engine, found.provider_address)
        return JSONResponse({**camel(found), "provider": camel(owner) if owner else None})

    # ------------------------------------------------------------------ the caller's instances
    @app.get(f"{API}/instances", tags=["instances"], summary="The signed-in renter's jobs, newest first")
    def instances(signed: Signed, limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
                  offset: Annotated[int, Query(ge=0, le=10**7)] = 0) -> dict[str, Any]:
        data = execute(MY_JOBS_DOCUMENT, a=signed.address, limit=limit, offset=offset)
        return {"items": data["myJobs"], "limit": limit, "offset": offset}

    @app.get(f"{API}/instances/{{job_id}}", tags=["instances"], summary="One of the caller's jobs (as renter or provider)")
    def instance(signed: Signed, job_id: JobIdPath) -> dict[str, Any]:
        found = execute(JOB_DOCUMENT, id=job_id)["job"]
        if found is None and config.gp is not None:  # just created: the index has not seen it yet
            found = chain_job(config.gp, job_id)
        if found is None or signed.address not in (found["user"], found["provider"]):
            raise ApiError(404, f"no job {job_id} of yours in the index")
        answer = dict(found)
        if config.gp is not None:  # the chain's clock, which bills it (a browser's may be off)
            answer["chainTime"] = config.gp.chain_time()
        if config.gp is not None and found["status"] in SETTLED:  # where its escrow went, from its events
            settled = config.gp.settlement(job_id)
            answer["settlement"] = None if settled is None else {k: str(v) for k, v in settled.items()}
            answer["resultCid"] = committed_result(config.gp, job_id) if found["status"] in ENDED_RUN else None
        return answer

    @app.get(f"{API}/history", tags=["instances"],
             summary="Every status change of the caller's jobs (rented or served), newest first, with their costs")
    def history(signed: Signed, limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
                offset: Annotated[int, Query(ge=0, le=10**7)] = 0) -> dict[str, Any]:
        from gpurent.indexer.activity import account_activity

        return {"items": account_activity(config.engine, signed.address, limit, offset), "limit": limit,
                "offset": offset}

    @app.get(f"{API}/instances/{{job_id}}/receipt", tags=["instances"],
             summary="A settled job's receipt for its renter or provider: times, seconds, costs, the split as paid")
    def receipt(signed: Signed, job_id: JobIdPath) -> dict[str, Any]:
        from gpurent.gateway.receipts import job_receipt

        found = job_receipt(config.engine, job_id, signed.address)
        return {**found, "chainId": config.manifest.chain_id, "marketplace": config.manifest.contracts.get("Marketplace"),
                "token": token()}

    def own_result(signed: Session, job_id: str) -> tuple[Results, str]:
        found = execute("query($id: String!) { job(id: $id) { user } }", id=job_id)["job"]
        if found is None or found["user"] != signed.address:
            raise ApiError(404, f"no job {job_id} you rented in the index")
        if config.uploads is None:
            raise ApiError(503, "this gateway reads no results (it has no IPFS node)")
        cid = calls().gp.result_cid(job_id)
        if cid is None:
            raise ApiError(404, f"job {job_id} has committed no result (yet)")
        return Results(config.uploads.store.ipfs), cid

    @app.get(f"{API}/instances/{{job_id}}/result", tags=["instances"],
             summary="The job's result: its CID on chain, result.json checked against the job, the files if unsealed")
    def result(signed: Signed, job_id: JobIdPath) -> dict[str, Any]:
        results, cid = own_result(signed, job_id)
        return results.summary(job_id, cid)

    @app.get(f"{API}/instances/{{job_id}}/result/manifest", tags=["instances"],
             summary="The result's stored manifest (sealed to the renter's key, or JSON), its hash checked")
    def result_manifest(signed: Signed, job_id: JobIdPath) -> Response:
        results, cid = own_result(signed, job_id)
        return Response(results.manifest(job_id, cid), media_type="application/octet-stream",
                        headers={"Content-Disposition": f'attachment; filename="{job_id[:10]}-manifest"'})

    @app.get(f"{API}/instances/{{job_id}}/result/payload", tags=["instances"],
             summary="The result's stored payload (a tar, sealed or not), streamed and checked against result.json")
    def result_payload(signed: Signed, job_id: JobIdPath) -> StreamingResponse:
        results, cid = own_result(signed, job_id)
        size, chunks = results.payload(job_id, cid)
        return StreamingResponse(chunks, media_type="application/octet-stream",
                                 headers={"Content-Length": str(size),
                                          "Content-Disposition": f'attachment; filename="{job_id[:10]}-payload"'})

    # ------------------------------------------------------------------ writes: the wallet signs
    def calls() -> UnsignedCalls:
        if config.gp is None:
            raise ApiError(503, "this gateway serves reads only (it has no chain connection)")
        return UnsignedCalls(config.gp)

    @app.post(f"{API}/instances/prepare", tags=["instances"],
              summary="The EIP-2612 permit (EIP-712 typed data) for a job's most it can cost")
    def prepare(signed: Signed, body: PermitRequest) -> dict[str, Any]:
        return calls().create_permit(to_checksum(signed.address), body.gpuId, body.imageCid, body.durationSeconds)

    @app.post(f"{API}/instances", tags=["instances"],
              summary="The createJobWithPermit transaction for the wallet to send (eth_sendTransaction)")
    def create(signed: Signed, body: CreateRequest) -> dict[str, Any]:
        request = calls().create_job(to_checksum(signed.address), body.gpuId, body.imageCid, body.durationSeconds,
                                     body.maxCost, body.deadline, body.permitSignature)
        return {"transaction": request.as_json(), "action": request.action}

    @app.post(f"{API}/instances/{{job_id}}/extend/prepare", tags=["instances"],
              summary="The permit for booking more time on the job, at its own price")
    def extend_prepare(signed: Signed, job_id: JobIdPath,
                       body: ExtendPermitRequest) -> dict[str, Any]:
        return calls().extend_permit(to_checksum(signed.address), job_id, body.extraSeconds)

    @app.post(f"{API}/instances/{{job_id}}/extend", tags=["instances"],
              summary="The extendJobWithPermit transaction for the wallet to send")
    def extend(signed: Signed, job_id: JobIdPath,
               body: ExtendRequest) -> dict[str, Any]:
        request = calls().extend_job(to_checksum(signed.address), job_id, body.extraSeconds, body.maxCost,
                                     body.deadline, body.permitSignature)
        return {"transaction": request.as_json(), "action": request.action}

    @app.get(f"{API}/balances", tags=["instances"], summary="The signed-in address's tokens and provider earnings")
    def balances(signed: Signed) -> dict[str, Any]:
        gp = calls().gp
        return {"address": signed.address, "tokens": str(gp.balance(signed.address)),
                "earnings": str(gp.earnings(signed.address)), "chainId": config.auth.chain_id}

    @app.delete(f"{API}/instances/{{job_id}}", tags=["instances"],
                summary="The transaction that cancels or settles the job, whichever its state allows")
    def end(signed: Signed, job_id: JobIdPath) -> dict[str, Any]:
        request = calls().end_job(to_checksum(signed.address), job_id)
        return {"transaction": request.as_json(), "action": request.action}

    @app.post(f"{API}/operator/pause", tags=["operator"],
              summary="The transactions that pause (or unpause) the marketplace and the registry, for a pauser")
    def pause(signed: Signed, body: PauseRequest) -> dict[str, Any]:
        prepared = calls().set_paused(to_checksum(signed.address), body.paused)
        return {"transactions": [r.as_json() for r in prepared], "paused": body.paused}

    @app.post(f"{API}/operator/disputes/{{job_id}}/resolve", tags=["operator"],
              summary="The transaction that resolves a dispute with a ruling and its evidence, for the oracle")
    def resolve(signed: Signed, job_id: JobIdPath, body: ResolveRequest) -> dict[str, Any]:
        request = calls().resolve_dispute(to_checksum(signed.address), job_id, body.outcome, body.evidenceCid)
        return {"transaction": request.as_json(), "action": request.action}

    @app.post(f"{API}/provider/gpus/{{gpu_id}}/availability", tags=["provider"],
              summary="The transaction that makes one of the signed-in provider's GPUs available or not")
    def availability(signed: Signed, gpu_id: GpuIdPath, body: AvailabilityRequest) -> dict[str, Any]:
        request = calls().set_availability(to_checksum(signed.address), gpu_id, body.available)
        return {"transaction": request.as_json(), "action": request.action}

    @app.post(f"{API}/provider/gpus/{{gpu_id}}/price", tags=["provider"],
              summary="The transaction that reprices one of the signed-in provider's GPUs (tokens per hour)")
    def reprice(signed: Signed, gpu_id: GpuIdPath, body: PriceRequest) -> dict[str, Any]:
        request = calls().set_price(to_checksum(signed.address), gpu_id, body.pricePerHour)
        return {"transaction": request.as_json(), "action": request.action}

    @app.post(f"{API}/provider/earnings/withdraw", tags=["provider"],
              summary="The withdrawEarnings transaction that pays out what the marketplace holds for the provider")
    def withdraw(signed: Signed) -> dict[str, Any]:
        held, request = calls().withdraw_earnings(to_checksum(signed.address))
        return {"transaction": request.as_json(), "action": request.action, "amount": str(held.amount),
                "fee": str(held.fee)}

    @app.post(f"{API}/provider/stake/unstake", tags=["provider"],
              summary="The transaction of an unstake step: request (the cooldown starts), cancel, or withdraw")
    def unstake(signed: Signed, body: UnstakeRequest) -> dict[str, Any]:
        request = calls().unstake(to_checksum(signed.address), body.step)
        return {"transaction": request.as_json(), "action": request.action}

    @app.post(f"{API}/operator/proposals", tags=["operator"],
              summary="The timelock's schedule of a parameter change, for a proposer (values checked first)")
    def propose(signed: Signed, body: ProposalRequest) -> dict[str, Any]:
        from gpurent.gateway.operator import operation_row

        unsigned = calls()
        request, op = unsigned.propose_parameter(to_checksum(signed.address), body.parameter, tuple(body.values))
        return {"transaction": request.as_json(), "action": request.action, "operation": operation_row(unsigned.gp, op)}

    @app.post(f"{API}/operator/operations/{{op_id}}/{{what}}", tags=["operator"],
              summary="The timelock's execute (for an executor, once its delay has passed) or cancel (for a "
                      "canceller) of a pending operation")
    def operation(signed: Signed, op_id: JobIdPath,
                  what: Annotated[str, Path(pattern="^(execute|cancel)$")]) -> dict[str, Any]:
        unsigned = calls()
        prepare = unsigned.execute_operation if what == "execute" else unsigned.cancel_operation
        request = prepare(to_checksum(signed.address), op_id)
        return {"transaction": request.as_json(), "action": request.action}

    @app.post(f"{API}/instances/{{job_id}}/dispute", tags=["instances"],
              summary="The transactions that dispute a running job: the bond's approval when needed, then disputeJob")
    def dispute(signed: Signed, job_id: JobIdPath, body: DisputeRequest) -> dict[str, Any]:
        bond, requests = calls().dispute_job(to_checksum(signed.address), job_id, body.reason)
        return {"bond": str(bond), "transactions": [{"transaction": r.as_json(), "action": r.action} for r in requests]}

    @app.post(f"{API}/transactions", tags=["instances"],
              summary="Broadcasts a transaction the signed-in wallet signed, and reports its outcome")
    def broadcast(signed: Signed, body: BroadcastRequest) -> dict[str, Any]:
        return calls().broadcast(body.rawTransaction, signed.address).as_json()

    @app.get(f"{API}/transactions/{{tx_hash}}", tags=["instances"],
             summary="The outcome of a transaction the signed-in wallet sent itself (eth_sendTransaction)")
    def outcome(signed: Signed, tx_hash: Annotated[str, Path(pattern=r"^0x[0-9a-fA-F]{64}$")]) -> dict[str, Any]:
        return calls().outcome(tx_hash, signed.address).as_json()

    # ------------------------------------------------------------------ streams (WebSockets)
    def find_job(job_id: str) -> dict[str, Any] | None:
        """The job's renter, provider and the provider's endpoint: from the index, or from the
        chain for a job created a moment ago (the console opens a stream before the index has it)."""
        if not JOB_ID.fullmatch(job_id):
            return None
        job = execute("query($id: String!) { job(id: $id) { user provider } }", id=job_id)["job"]
        if job is None and config.gp is not None:
            job = chain_job(config.gp, job_id)
        if job is None:
            return None
        provider = execute("query($a: String!) { provider(address: $a) { endpoint } }", a=job["provider"])["provider"]
        endpoint = provider["endpoint"] if provider else None
        if endpoint is None and config.gp is not None:
            endpoint = chain_endpoint(config.gp, job["provider"])
        return {"user": job["user"], "provider": job["provider"], "endpoint": endpoint}

    def open_source(kind: str, url: str, job_id: str, headers: dict[str, str]) -> Iterator[Any]:
        endpoint = DelegatedEndpoint(url, config.auth.chain_id, headers)
        if kind == "progress":
            return progress_frames(endpoint.follow_record(job_id))
        return endpoint.logs(job_id, follow=True) if kind == "logs" else endpoint.follow_metrics(job_id)

    streams = Streams(config.auth, find_job, open_source, config.store, per_user=config.limits.streams_per_address)

    @app.websocket(f"{API}/instances/{{job_id}}/logs")
    async def logs(ws: WebSocket, job_id: str) -> None:
        await streams.serve(ws, job_id, "logs")

    @app.websocket(f"{API}/instances/{{job_id}}/metrics")
    async def metrics(ws: WebSocket, job_id: str) -> None:
        await streams.serve(ws, job_id, "metrics")

    @app.websocket(f"{API}/instances/{{job_id}}/progress")
    async def progress(ws: WebSocket, job_id: str) -> None:
        await streams.serve(ws, job_id, "progress")

    # ------------------------------------------------------------------ images
    def image_jobs(cid: str) -> int:
        from sqlalchemy import select

        from gpurent.indexer import schema as tables

        with config.engine.connect() as db:
            count = db.execute(select(tables.images.c.download_count).where(tables.images.c.cid == cid)).scalar()
        return int(count or 0)

    @app.post(f"{API}/images/upload", tags=["images"],
              summary="Pushes a docker-archive tar (the body, as `docker save` writes it) to IPFS")
    async def upload(signed: Signed, request: Request) -> dict[str, Any]:
        if config.uploads is None:
            raise ApiError(503, "this gateway takes no uploads (it has no IPFS node)")
        pushed = await config.uploads.receive(request, signed.address)
        meta = pushed.metadata
        return {"cid": pushed.cid, "name": meta.name, "tag": meta.tag, "size": meta.size, "digest": meta.digest}

    @app.post(f"{API}/data/upload", tags=["data"],
              summary="Pushes one file (the body) to IPFS as a dataset for jobs' inputs, as `gpurent data push` does")
    async def upload_data(signed: Signed, request: Request,
                          name: Annotated[str, Query(max_length=1024, description="the file's name (no path)")]
                          ) -> dict[str, Any]:
        if config.uploads is None:
            raise ApiError(503, "this gateway takes no uploads (it has no IPFS node)")
        pushed = await config.uploads.receive_data(request, name)
        return {"cid": pushed.cid, "name": name, "size": pushed.size, "digest": pushed.digest}

    @app.get(f"{API}/images/{{cid}}", tags=["images"], summary="An image's metadata (from IPFS) and its jobs (from the index)")
    async def image(cid: Annotated[str, Path(max_length=128, pattern=r"^[A-Za-z0-9]+$")]) -> dict[str, Any]:
        if config.uploads is None:
            raise ApiError(503, "this gateway reads no images (it has no IPFS node)")
        meta = await run_in_threadpool(config.uploads.store.metadata, cid, 10.0)
        jobs = await run_in_threadpool(image_jobs, cid)
        return {"cid": cid, "name": meta.name, "tag": meta.tag, "size": meta.size, "digest": meta.digest,
                "uploader": meta.uploader, "created": meta.created, "network": meta.network, "jobs": jobs}

    probe = config.images or ImageProbe(index_endpoints(config.engine), agent_ask(config.manifest.chain_id))

    @app.get(f"{API}/images/{{cid}}/cached", tags=["images"],
             summary="Which of these providers would start a job on the image without a download (their agents asked)")
    async def image_cached(cid: Annotated[str, Path(max_length=128, pattern=r"^[A-Za-z0-9]+$")],
                           provider: Annotated[list[str], Query()]) -> dict[str, Any]:
        if not 0 < len(provider) <= MAX_PROVIDERS or any(not ADDRESS.fullmatch(a) for a in provider):
            raise ApiError(400, f"provider: 1 to {MAX_PROVIDERS} addresses (0x and 40 hex digits)")
        # awaited on the loop, not in a thread: a page of silent agents holds none of the
        # server's threads (the index's endpoints are one indexed query, as the /gpus route's)
        return {"cid": cid, "providers": await probe.states_async(cid, provider)}

    @app.exception_handler(GpurentError)
    async def _sdk_error(_: Request, err: GpurentError) -> JSONResponse:
        status = 403 if isinstance(err, NotAuthorized) else 400  # a role or a party the caller is not
        return JSONResponse({"error": safe_text(str(err).splitlines()[0])[:400]}, status_code=status)

    @app.get(f"{API}/images", tags=["images"], summary="Images by how many jobs ran them")
    def images(limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 20) -> dict[str, Any]:
        return {"items": execute(IMAGES_DOCUMENT, limit=limit)["images"]}

    @app.get(f"{API}/health", tags=["service"], summary="The index's head and the chain it follows")
    def health() -> dict[str, Any]:
        info = execute("{ indexer { block events chainId marketplace } }")["indexer"]
        return {"ok": True, **info, "web": config.web is not None}

    @app.get(f"{API}/chain", tags=["service"], summary="The chain a wallet must be on (to add or switch to it)")
    def chain() -> dict[str, Any]:
        chain_id = config.manifest.chain_id
        return {"chainId": chain_id, "chainName": CHAIN_NAMES.get(chain_id, f"gpurent (chain {chain_id})"),
                "rpcUrl": config.rpc_url, "marketplace": config.manifest.contracts.get("Marketplace"), "token": token()}

    @app.get("/metrics", include_in_schema=False)
    def prometheus_metrics() -> Response:
        """Prometheus' scrape: inside the rate limits like any route, rendered at most once a
        second (gpurent.monitoring.exposition), so it costs a flood no more than a copy."""
        return Response(config.exposition.render(), media_type=CONTENT_TYPE, headers={"cache-control": "no-store"})

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(docs_page(app.openapi()))

    # ------------------------------------------------------------------ the index's GraphQL, one schema
    app.mount("/graphql", graphql_app(config.engine, hub, config.manifest, subscriptions=False))  # HTTP only

    # ------------------------------------------------------------------ the web app: where no route matched
    if config.web is not None:
        # the router's fallback, not a catch-all route: a route would match /graphql and take
        # its POSTs (405) before the mount's slash redirect, and would shadow every later route
        web, not_found = config.web, app.router.default

        async def web_app(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD") or is_api_path(scope["path"]):
                await not_found(scope, receive, send)
                return
            encodings = b",".join(v for k, v in scope.get("headers") or [] if k == b"accept-encoding")
            await web.answer(scope["path"], encodings.decode("latin-1"))(scope, receive, send)

        app.router.default = web_app

    app.add_middleware(Guard, store=config.store, limits=config.limits)  # inside CORS: preflights pass first
    if config.origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(config.origins), allow_credentials=False,
                           allow_methods=["GET", "POST", "DELETE"], allow_headers=["Authorization", "Content-Type"],
                           max_age=600)
    # outermost: what the Guard or CORS refuses is counted with its code too
    web_path = (lambda path: not is_api_path(path)) if config.web is not None else None  # "(web)", else "(unmatched)"
    app.add_middleware(Instrumented, exposition=config.exposition, metrics=HttpMetrics(config.exposition, "gpurent_gateway"),
                       route=lambda scope: route_of(scope, web_path), serve=False)
    return app


def chain_job(gp: Any, job_id: str) -> dict[str, Any] | None:
    """The job as the index will show it, read from the chain (for the seconds between its
    creation and its indexing; no history yet, ``indexed`` false); None for no such job."""
    try:
        job = gp.job(job_id)
    except GpurentError:  # no such job (the contract says so)
        return None
    if job.status == JobStatus.NONE:
        return None
    return {"id": job.job_id.lower(), "user": job.user.lower(), "provider": job.provider.lower(),
            "resourceId": job.resource_id.lower(), "imageCid": job.image_cid, "status": job.status.label,
            "pricePerHour": str(job.price_per_hour), "estimatedDuration": job.estimated_duration,
            "maxCost": str(job.max_cost), "startTime": job.start_time or None, "endTime": job.end_time or None,
            "totalCost": str(job.final_cost) if job.status.terminal else None, "createdBlock": None,
            "history": [], "indexed": False}


def chain_endpoint(gp: Any, provider: str) -> str | None:
    """A provider's endpoint as registered on chain (for one the index has not seen yet)."""
    try:
        return str(gp.provider(to_checksum(provider)).endpoint) or None
    except GpurentError:
        return None


def committed_result(gp: Any, job_id: str) -> str | None:
    """The result CID the job's provider committed (its ``ResultCommitted`` event); None for
    none, or for one that is not a CID (the provider's word: the route still answers)."""
    try:
        return gp.result_cid(job_id)  # type: ignore[no-any-return]
    except GpurentError:
        return None


def docs_page(spec: dict[str, Any]) -> str:
    """The API's routes as one self-contained page (no CDN: Swagger UI's assets are remote);
    the machine-readable spec is at /openapi.json."""
    rows = []
    for path, methods in sorted(spec.get("paths", {}).items()):
        for method, op in methods.items():
            params = ", ".join(p["name"] for p in op.get("parameters", []))
            rows.append(f"<tr><td><code>{html.escape(method.upper())}</code></td><td><code>{html.escape(path)}</code></td>"
                        f"<td>{html.escape(op.get('summary', ''))}</td><td>{html.escape(params)}</td></tr>")
    return ("<!doctype html><meta charset=utf-8><title>gpurent gateway API</title>"
            "<style>body{font:14px system-ui;margin:2em}td{padding:4px 10px;border-bottom:1px solid #ddd}</style>"
            f"<h1>gpurent gateway API v1</h1><p>{html.escape(spec.get('info', {}).get('description', ''))}</p>"
            "<p>OpenAPI: <a href=/openapi.json>/openapi.json</a>. GraphQL (the indexer's schema): <code>/graphql</code>.</p>"
            "<table><tr><th>Method</th><th>Path</th><th>What</th><th>Parameters</th></tr>" + "".join(rows) + "</table>")


def camel(row: Any) -> dict[str, Any]:
    """A row of the index's GraphQL types as the GraphQL API names its fields (camelCase)."""
    kind: type = type(row)
    return {_CAMEL.get(name) or _camel_name(name): getattr(row, name) for name in _fields(kind)}


_CAMEL: dict[str, str] = {}


def _camel_name(name: str) -> str:
    head, *rest = name.split("_")
    _CAMEL[name] = head + "".join(part.title() for part in rest)
    return _CAMEL[name]


@functools.cache
def _fields(cls: type) -> tuple[str, ...]:
    """The type's plain fields (not those a resolver computes: a GPU's provider, a provider's GPUs)."""
    import dataclasses

    return tuple(f.name for f in dataclasses.fields(cls) if not callable(getattr(cls, f.name, None)))


def to_checksum(address: str) -> str:
    from eth_utils.address import to_checksum_address

    return str(to_checksum_address(address))
