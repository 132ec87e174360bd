"""The web app in a real browser: Debian's Chromium driven by Playwright (web/tests/e2e, run by
Node) against a real gateway serving web/dist over a real index on Anvil. The wallet is an
injected EIP-1193 provider whose requests Anvil answers (it signs for its unlocked accounts).

Also here, without a browser: what the gateway serves at / (files, content types, the SPA
fallback, the app's CSP) and the web_dir setting."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import threading
from decimal import Decimal
from pathlib import Path

import pytest
import requests

from gpurent.errors import ConfigurationError
from gpurent.gateway.app import GatewayConfig, make_app
from gpurent.gateway.auth import Authenticator
from gpurent.gateway.config import GatewaySettings, parse_config
from gpurent.gateway.service import GatewayServer
from gpurent.gateway.store import MemoryStore
from gpurent.gateway.web import WebApp, repo_web_dir
from gpurent.local.process import free_port
from gpurent.units import TOKEN, to_base_units
from tests.indexer.test_indexer import busy_chain, make_indexer
from tests.web.log_provider import LogProvider

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
CHROMIUM = Path("/usr/bin/chromium")
HOSTILE = "<img src=x onerror=alert(1)>"  # a model name is any printable ASCII the registry takes
BROWSER_TIMEOUT_S = 300
LOG_MARK = "epoch 3/3: loss 0.0421"
# over the 64 KiB the console keeps: its first line is dropped from the page, its last ones shown
JOB_LOG = (b"starting the job\n" + b"".join(b"step %04d of a long training run\n" % i for i in range(2000))
           + b"<b>markup in a log stays text</b>\n" + LOG_MARK.encode() + b"\n")


CACHED_IMAGE = "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"  # the second provider's agent holds it


def built_web() -> Path:
    dist = repo_web_dir()
    if dist is None:
        pytest.fail("web/dist is not built: run `make web` (or `make setup`)")
    return dist


GPU = {"util_pct": 87.5, "mem_used_bytes": 20 * 2**30, "mem_total_bytes": 80 * 2**30, "temp_c": 64.0, "power_w": 310.0}
SAMPLES = tuple({"t": 1_700_000_000.0 + 2 * i, "cpu_pct": 150.0, "mem_bytes": 512 * 2**20, "mem_limit_bytes": 2 * 2**30,
                 "net_rx_bytes": 4096 * i, "net_tx_bytes": 2048 * i, "disk_read_bytes": 0, "disk_write_bytes": 0,
                 "pids": 3, "gpu": GPU, "gpu_reason": None} for i in range(2))  # 2 KiB/s in, 1 KiB/s out


@pytest.fixture
def log_provider(cast, chain):
    provider = LogProvider(cast.renter.address, chain.chain_id, JOB_LOG, SAMPLES, cached=frozenset({CACHED_IMAGE})).start()
    yield provider
    provider.stop()


@pytest.fixture
def seeded(tmp_path, suite, cast, chain, manifest, log_provider):
    """busy_chain's story (the renter's jobs, a provider's two GPUs) and four GPUs more of a
    second provider (whose endpoint serves its jobs' log to their renter), one named with
    markup, indexed."""
    busy_chain(suite, cast, chain)
    suite.token.approve(suite.registry, 100 * TOKEN, sender=cast.provider2)
    suite.registry.registerProvider(log_provider.url, 100 * TOKEN, sender=cast.provider2)
    for model, memory, price in (("A100", 80, 3), ("RTX4090", 24, 1), ("H100", 80, 8), (HOSTILE, 16, 2)):
        suite.registry.registerResource(model, 16, memory, 500, price * TOKEN, sender=cast.provider2)
    indexer = make_indexer(f"sqlite:///{tmp_path / 'index.db'}", manifest, chain)
    indexer.sync()
    return indexer


def serve(indexer, web: WebApp | None, gp=None, rpc_url: str | None = None, uploads=None) -> GatewayServer:
    port = free_port()
    store = MemoryStore()
    auth = Authenticator(store, b"k" * 32, domain=f"127.0.0.1:{port}", uri=f"http://127.0.0.1:{port}",
                         chain_id=indexer.manifest.chain_id)
    server = GatewayServer(make_app(GatewayConfig(engine=indexer.engine, manifest=indexer.manifest, auth=auth,
                                                  store=store, gp=gp, web=web, rpc_url=rpc_url, uploads=uploads)),
                           "127.0.0.1", port)
    server.start()
    return server


@pytest.fixture
def site(seeded, gp, chain):
    """The gateway with the web app, over an index that follows the chain (what the browser's
    jobs do shows up as the indexer daemon would show it)."""
    server = serve(seeded, WebApp(built_web()), gp, chain.provider.http_uri)
    follower = threading.Thread(target=seeded.run, kwargs={"poll_s": 0.2}, name="indexer", daemon=True)
    follower.start()
    yield server
    seeded.stop()
    follower.join(timeout=10)
    server.stop()


def playwright(specs: list[str], env: dict[str, str]) -> str:
    """Runs these spec files (web/tests/e2e) in Debian's Chromium; their output when all passed."""
    if not CHROMIUM.exists():
        pytest.fail("Chromium is missing: run `make setup` (tools/install-chromium.sh)")
    runner = WEB / "node_modules" / ".bin" / "playwright"
    if not runner.exists():
        pytest.fail("the web app's packages are missing: run `make web` (or `make setup`)")
    try:
        run = subprocess.run([str(runner), "test", *specs], cwd=WEB, env={**os.environ, **env, "CI": "1",
                                                                         "GPURENT_CHROMIUM": str(CHROMIUM)},
                             capture_output=True, text=True, timeout=BROWSER_TIMEOUT_S)
    except subprocess.TimeoutExpired as err:
        pytest.fail(f"the browser tests ran past {BROWSER_TIMEOUT_S} s:\n{err.stdout or ''}\n{err.stderr or ''}")
    assert run.returncode == 0, f"the browser tests failed ({run.returncode}):\n{run.stdout}\n{run.stderr}"
    return run.stdout


def assert_screenshots(shots: Path, page: str) -> None:
    """The page's screenshots were taken, as PNGs of the widths their names say."""
    for width in (1280, 390):
        png = (shots / f"web-{page}-{width}.png").read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and int.from_bytes(png[16:20], "big") == width


def browser_env(url: str, chain, cast, **more: str) -> dict[str, str]:
    """What every spec reads (wallet.ts's env()): the site, Anvil, its chain and the renter."""
    return {"GPURENT_WEB_URL": url, "GPURENT_RPC_URL": chain.provider.http_uri, "GPURENT_CHAIN_ID": str(chain.chain_id),
            "GPURENT_RENTER": cast.renter.address, **more}


def test_the_web_app_in_chromium_connects_signs_in_lists_rents_and_runs_a_job(site, cast, chain, gp, log_provider,
                                                                             tmp_path):
    gpus = requests.get(f"{site.url}/api/v1/gpus", params={"sort": "price_asc", "limit": 100}, timeout=10).json()["items"]
    models = [g["gpuModel"] for g in gpus]
    assert {"A100", "RTX4090", "H100", HOSTILE} <= set(models) and len(models) >= 5, models
    theirs = {g["gpuModel"]: g["id"] for g in gpus if g["providerAddress"] == cast.provider2.address.lower()}
    # the marketplace narrows by a component: busy_chain's provider is measured, provider2 not yet (50%)
    assert {(g["uptimeBps"] or 5000) > 5000 for g in gpus} == {True, False}
    jobs_before = gp.job_count()
    shots = Path(os.environ.get("GPURENT_SCREENSHOT_DIR") or tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    env = {**browser_env(site.url, chain, cast),
           "GPURENT_PROVIDER": cast.provider2.address, "GPURENT_RENT_GPU": theirs["RTX4090"],
           "GPURENT_COSTLY_GPU": theirs["H100"], "GPURENT_LOG_MARK": LOG_MARK, "GPURENT_OUT": str(out),
           "GPURENT_EXPECT_GPUS": json.dumps([{"model": g["gpuModel"], "price": g["pricePerHour"], "uptimeBps": g["uptimeBps"],
                                              "responseBps": g["responseBps"]} for g in gpus]),
           "GPURENT_HOSTILE_MODEL": HOSTILE, "GPURENT_SCREENSHOT_DIR": str(shots.resolve()),
           "GPURENT_SETTLEMENTS": json.dumps(settlements(gp, cast.renter.address))}
    try:
        output = playwright(["app.spec.ts", "rent.spec.ts"], env)
    except BaseException as err:  # what the log's provider saw, and what else runs in this process
        threads = sorted(t.name for t in threading.enumerate())
        raise AssertionError(f"{err}\nlog provider served {log_provider.served}, refused {log_provider.refused}; "
                             f"{len(threads)} threads: {threads[:60]}") from None
    assert "8 passed" in output, output
    # what the browser did is on chain: two jobs of the renter on the GPU it picked, at the prices shown
    assert gp.job_count() == jobs_before + 2  # the declined permit created nothing
    ids = json.loads((out / "jobs.json").read_text()) if (out / "jobs.json").exists() else {}
    cancelled, settled = gp.job(ids["cancelled"]), gp.job(ids["settled"])
    for job in (cancelled, settled):
        assert job.user == cast.renter.address and job.resource_id == theirs["RTX4090"]
        assert job.provider == cast.provider2.address
    assert cancelled.status.label == "Cancelled" and cancelled.max_cost == Decimal("2.5")  # 2 h 30 min at 1 an hour
    assert gp.settlement(ids["cancelled"]) == {"provider": 0, "fee": 0, "refund": Decimal("2.5")}
    assert settled.status.label == "Completed" and settled.estimated_duration == 35 * 60  # 5 min, then 30 more
    assert settled.max_cost == Decimal(35 * 60 * 10**18 // 3600) / 10**18
    paid = gp.settlement(ids["settled"])
    cost = settled.final_cost
    assert 0 < cost < settled.max_cost and paid["fee"] == Decimal(int(cost * 10**18) * 200 // 10_000) / 10**18
    assert paid["provider"] == cost - paid["fee"] and paid["refund"] == settled.max_cost - cost
    assert log_provider.served and set(log_provider.served) <= {ids["cancelled"]}  # signed by the renter's wallet
    for page in ("marketplace", "marketplace-image", "console"):
        assert_screenshots(shots, page)


def settlements(gp, renter: str) -> dict[str, dict[str, list[str]]]:
    """The renter's settled jobs as the chain paid them (its events, through the SDK): for each
    job id, each party's [base units, tokens]."""
    paid = {}
    for job in gp.jobs_of_user(renter):
        split = gp.settlement(job.job_id) if job.status.terminal else None
        if split is not None:
            paid[job.job_id.lower()] = {p: [str(to_base_units(v)), f"{v:f}"] for p, v in split.items()}
    return paid


def test_the_web_app_type_checks_and_its_unit_tests_pass():
    """tsc --strict over the app and its tests, then vitest (components and pure functions)."""
    bin_dir = WEB / "node_modules" / ".bin"
    if not (bin_dir / "vitest").exists():
        pytest.fail("the web app's packages are missing: run `make web` (or `make setup`)")
    for command in (["tsc", "-b"], ["vitest", "run"]):
        run = subprocess.run([str(bin_dir / command[0]), *command[1:]], cwd=WEB, capture_output=True, text=True,
                             timeout=BROWSER_TIMEOUT_S, env={**os.environ, "CI": "1", "NO_COLOR": "1"})
        assert run.returncode == 0, f"{' '.join(command)} failed:\n{run.stdout}\n{run.stderr}"
    assert " passed" in run.stdout and "failed" not in run.stdout, run.stdout
    raw_html = [str(p.relative_to(WEB)) for p in (WEB / "src").rglob("*.ts*")
                if "dangerouslySetInnerHTML" in p.read_text() or ".innerHTML" in p.read_text()]
    assert raw_html == [], f"the app renders API strings as text only; these write HTML: {raw_html}"


# ---------------------------------------------------------------------- images and data

@pytest.fixture
def upload_site(seeded, kubo, tmp_path):
    """The gateway with the web app and uploads into a real Kubo node (images 4 MiB at most, data 2 MiB)."""
    from gpurent.gateway.uploads import Uploads
    from gpurent.images.store import ImageStore

    uploads = Uploads(ImageStore(kubo.client(), max_bytes=UPLOAD_LIMIT), spool=tmp_path, idle_s=10.0,
                      max_data_bytes=DATA_LIMIT)
    server = serve(seeded, WebApp(built_web()), uploads=uploads)
    yield server
    server.stop()


UPLOAD_LIMIT = 4 * 1024 * 1024
DATA_LIMIT = 2 * 1024 * 1024


def test_the_images_page_uploads_a_real_archive_with_its_progress_and_says_a_refusal(upload_site, cast, chain, kubo,
                                                                                    tmp_path):
    from gpurent.workload.data import push_data
    from tests.gateway.test_gateway import sign_in
    from tests.services import make_image

    archive, _ = make_image(tmp_path, "gpurent-test/web:1", b"uploaded from the browser")
    not_tar = tmp_path / "notes.tar"
    not_tar.write_bytes(b"not a tar at all\n" * 100)
    too_big = tmp_path / "big.tar"
    too_big.write_bytes(b"\0" * (UPLOAD_LIMIT + 1024))
    # the gateway's own lines for the two refusals, which the page must show as they are
    token = sign_in(upload_site.url, cast.renter)
    refused = requests.post(f"{upload_site.url}/api/v1/images/upload", data=not_tar.read_bytes(), timeout=30,
                            headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 400, refused.text
    over = requests.post(f"{upload_site.url}/api/v1/images/upload", data=too_big.read_bytes(), timeout=30,
                         headers={"Authorization": f"Bearer {token}"})
    assert over.status_code == 413, over.text
    dataset = tmp_path / "train labels.csv"
    dataset.write_bytes(os.urandom(800 * 1024))  # new bytes, so a CID no earlier run pinned
    data_too_big = tmp_path / "big.bin"
    data_too_big.write_bytes(b"\0" * (DATA_LIMIT + 1024))
    data_over = requests.post(f"{upload_site.url}/api/v1/data/upload", params={"name": data_too_big.name}, timeout=30,
                              data=data_too_big.read_bytes(), headers={"Authorization": f"Bearer {token}"})
    assert data_over.status_code == 413, data_over.text
    pins = kubo.client().pins()
    shots = Path(os.environ.get("GPURENT_SCREENSHOT_DIR") or tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    output = playwright(["images.spec.ts"], browser_env(
        upload_site.url, chain, cast, GPURENT_IMAGE_TAR=str(archive), GPURENT_IMAGE_SIZE=str(archive.stat().st_size),
        GPURENT_NOT_TAR=str(not_tar), GPURENT_NOT_TAR_ERROR=refused.json()["error"], GPURENT_TOO_BIG=str(too_big),
        GPURENT_TOO_BIG_ERROR=over.json()["error"], GPURENT_DATA_FILE=str(dataset),
        GPURENT_DATA_SIZE=str(dataset.stat().st_size),
        GPURENT_DATA_DIGEST=f"sha256:{hashlib.sha256(dataset.read_bytes()).hexdigest()}",
        GPURENT_DATA_TOO_BIG=str(data_too_big), GPURENT_DATA_TOO_BIG_ERROR=data_over.json()["error"],
        GPURENT_OUT=str(out), GPURENT_SCREENSHOT_DIR=str(shots.resolve())))
    assert "1 passed" in output, output
    assert_screenshots(shots, "images")
    assert_screenshots(shots, "images-data")
    cid = (out / "image.txt").read_text().strip()
    about = requests.get(f"{upload_site.url}/api/v1/images/{cid}", timeout=30).json()
    assert about["name"] == "gpurent-test/web" and about["size"] == archive.stat().st_size
    assert about["uploader"] == cast.renter.address.lower()
    # the CID the page showed is the file as Kubo holds it, pinned, and what `gpurent data push` makes of it
    data_cid = (out / "data.txt").read_text().strip()
    assert kubo.client().is_pinned(data_cid) and kubo.client().cat_bytes(data_cid) == dataset.read_bytes()
    assert push_data(kubo.client(), dataset).cid == data_cid
    assert kubo.client().pins() - pins <= {cid, data_cid}  # the refused uploads pinned nothing


# ---------------------------------------------------------------------- the provider dashboard

@pytest.fixture
def provider_site(seeded, suite, cast, chain, gp):
    """busy_chain's provider (two jobs settled, a report, a penalty, a reward) with one job more
    settled two days later and a second report, indexed and served with the web app and a chain
    connection (the dashboard's writes), the index following the chain."""
    from gpurent.indexer.api import GpuFilter, find_gpus

    (gpu,) = find_gpus(seeded.engine, GpuFilter(provider=cast.provider.address, model="RTX4090"))
    m = suite.marketplace
    chain.pending_timestamp = chain.pending_timestamp + 2 * 86400
    job = m.createJob(gpu.id, "bafkreilaterjob", 3600, 2**256 - 1, sender=cast.renter).events.filter(m.JobCreated)[0].jobId
    m.acceptJob(job, sender=cast.provider)
    started = m.startJob(job, sender=cast.provider)
    chain.pending_timestamp = started.timestamp + 1800  # from the start block: exactly 1800 s billed
    m.completeJob(job, sender=cast.renter)  # half an hour at 10 an hour: 5, 0.1 of it the fee
    suite.reputation.submitValidationReport(cast.provider, 2, (4, 4, 1, 0, 100), sender=cast.oracle)
    seeded.sync()
    server = serve(seeded, WebApp(built_web()), gp, chain.provider.http_uri)
    follower = threading.Thread(target=seeded.run, kwargs={"poll_s": 0.2}, name="indexer", daemon=True)
    follower.start()  # what the browser's wallet sends shows up as the indexer daemon would show it
    yield server
    seeded.stop()
    follower.join(timeout=10)
    server.stop()


def test_the_provider_dashboard_shows_gpus_stake_jobs_earnings_and_reputation_charts(provider_site, cast, chain, gp,
                                                                                      tmp_path):
    board = requests.get(f"{provider_site.url}/api/v1/providers/{cast.provider.address}", timeout=10).json()
    held = gp.held_earnings(cast.provider.address)
    assert Decimal(board["chain"]["withdrawable"]) == held.amount > 0 and held.amount == held.amount.quantize(Decimal("0.0001"))
    (active,) = [g["id"] for g in board["gpus"] if not g["retired"]]
    before = gp.balance(cast.provider.address)
    days = board["earningsByDay"]
    assert [d["earned"] for d in days] == ["4.9", "4.9"] and [d["jobs"] for d in days] == [2, 1]  # two days apart
    scores = [h for h in board["reputationHistory"] if h["kind"] == "score"]
    assert len(scores) == 2 and board["jobs"]["ended"] == 3 and board["jobs"]["total"] == 4
    shots = Path(os.environ.get("GPURENT_SCREENSHOT_DIR") or tmp_path)
    output = playwright(["provider.spec.ts"], browser_env(provider_site.url, chain, cast,
                                                          GPURENT_PROVIDER=cast.provider.address,
                                                          GPURENT_BOARD=json.dumps(board),
                                                          GPURENT_SCREENSHOT_DIR=str(shots.resolve())))
    assert "2 passed" in output, output
    for width in (1280, 390):
        png = (shots / f"web-provider-{width}.png").read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and int.from_bytes(png[16:20], "big") == width
    assert gp.resource(active).available is False  # the browser's switch, on chain
    assert gp.held_earnings(cast.provider.address).empty and gp.balance(cast.provider.address) == before + held.amount


# ---------------------------------------------------------------------- the operator page

@pytest.fixture
def operator_site(seeded, suite, cast, gp, chain):
    """busy_chain's resolved dispute (with its evidence CID) and one left open, on the second
    provider's GPU, indexed and served with the web app and a chain connection."""
    from gpurent.indexer.api import GpuFilter, find_gpus

    gpu = find_gpus(seeded.engine, GpuFilter(provider=cast.provider2.address, model="A100"))[0]
    m = suite.marketplace
    job = m.createJob(gpu.id, "bafkreiopen", 3600, 2**256 - 1, sender=cast.renter).events.filter(m.JobCreated)[0].jobId
    m.acceptJob(job, sender=cast.provider2)
    m.startJob(job, sender=cast.provider2)
    m.disputeJob(job, "<b>no output</b> after an hour", sender=cast.renter)
    seeded.sync()
    server = serve(seeded, WebApp(built_web()), gp, chain.provider.http_uri)
    follower = threading.Thread(target=seeded.run, kwargs={"poll_s": 0.2}, name="indexer", daemon=True)
    follower.start()  # the ruling the browser sends shows up as the indexer daemon would show it
    yield server
    seeded.stop()
    follower.join(timeout=10)
    server.stop()


def test_the_operator_page_is_for_role_holders_and_shows_disputes_parameters_and_pause(operator_site, cast, chain, suite,
                                                                                      gp, tmp_path):
    from tests.conftest import govern

    govern(suite, cast.admin, suite.timelock.updateDelay, 3600)  # the proposer's change waits, as on a real network
    shots = Path(os.environ.get("GPURENT_SCREENSHOT_DIR") or tmp_path)
    oracle = requests.get(f"{operator_site.url}/api/v1/operator/{cast.oracle.address}", timeout=30).json()
    assert "ORACLE_ROLE" in oracle["held"] and oracle["paused"] is False
    assert [d["outcome"] is None for d in oracle["disputes"]] == [True, False]  # the open one first
    assert oracle["disputes"][1]["evidenceCid"] == "bafkreievidence"
    renter = requests.get(f"{operator_site.url}/api/v1/operator/{cast.renter.address}", timeout=30).json()
    assert renter["held"] == []
    output = playwright(["operator.spec.ts"], browser_env(operator_site.url, chain, cast,
                                                          GPURENT_ORACLE=cast.oracle.address,
                                                          GPURENT_PAUSER=cast.admin.address,
                                                          GPURENT_PROPOSER=cast.admin.address,
                                                          GPURENT_OPERATOR_VIEW=json.dumps(oracle),
                                                          GPURENT_SCREENSHOT_DIR=str(shots.resolve())))
    assert "5 passed" in output, output
    assert_screenshots(shots, "operator")
    (proposed,) = gp.pending_operations()  # the browser's proposal, scheduled on the chain
    assert gp.call_text(proposed) == "Marketplace.setFee(300)" and gp.parameters()["fee_bps"] == 200
    (ruled,) = [d for d in requests.get(f"{operator_site.url}/api/v1/operator/{cast.oracle.address}",
                                        timeout=30).json()["disputes"] if d["jobId"] == oracle["disputes"][0]["jobId"]]
    assert ruled["outcome"] == "split" and ruled["resolver"] == cast.oracle.address.lower()  # the browser's ruling
    assert not suite.marketplace.paused() and not suite.registry.paused()  # paused and unpaused again


# ---------------------------------------------------------------------- the console's metrics, dispute, result

RUNNING_WAIT_S = 600  # the running job's wait from creation to start: provider2's fourth start


@pytest.fixture
def console_site(seeded, suite, cast, gp, chain, kubo, tmp_path):
    """provider2's record (provider_record: waits of 60, 120 and 300 s, one abandon, one lost
    dispute) and one job of it running (RUNNING_WAIT_S after its creation; its endpoint serves
    SAMPLES); provider2's H100 unavailable; a job of busy_chain's provider completed with a
    result packed and added to a real Kubo node, its CID committed on chain. Served with the web
    app, a chain connection and the results route, the index following the chain."""
    from gpurent.agent.results import ResultStore
    from gpurent.gateway.uploads import Uploads
    from gpurent.images.store import ImageStore
    from gpurent.indexer.api import GpuFilter, find_gpus
    from gpurent.workload.spec import JobSpec
    from tests.gateway.test_gateway import provider_record
    from tests.indexer.test_indexer import CID

    gpus = {g.gpu_model: g.id for g in find_gpus(seeded.engine, GpuFilter(provider=cast.provider2.address, available=None))}
    expected = provider_record(suite, cast, chain, gpus["A100"])
    m = suite.marketplace
    running = m.createJob(gpus["RTX4090"], "bafkreirunning", 3600, 2**256 - 1, sender=cast.renter).events.filter(m.JobCreated)[0].jobId
    created = chain.blocks.head.timestamp
    m.acceptJob(running, sender=cast.provider2)
    chain.pending_timestamp = created + RUNNING_WAIT_S
    m.startJob(running, sender=cast.provider2)
    suite.registry.updateAvailability(gpus["H100"], False, sender=cast.provider2)

    (theirs,) = find_gpus(seeded.engine, GpuFilter(provider=cast.provider.address, model="RTX4090"))
    done = m.createJob(theirs.id, "bafkreiresult", 3600, 2**256 - 1, sender=cast.renter).events.filter(m.JobCreated)[0].jobId
    done_id = "0x" + bytes(done).hex()
    m.acceptJob(done, sender=cast.provider)
    m.startJob(done, sender=cast.provider)
    outputs = tmp_path / "outputs"
    outputs.mkdir()
    (outputs / "model.txt").write_bytes(b"trained weights\n" * 100)
    stored = ResultStore(kubo.client(), tmp_path / "results.db", 3600).pack(done_id, outputs, JobSpec(image=CID),
                                                                             10**6, 0)
    m.completeJobWithResult(done, chain.blocks.head.timestamp, stored.cid, sender=cast.provider)
    seeded.sync()
    server = serve(seeded, WebApp(built_web()), gp, chain.provider.http_uri, uploads=Uploads(ImageStore(kubo.client())))
    follower = threading.Thread(target=seeded.run, kwargs={"poll_s": 0.2}, name="indexer", daemon=True)
    follower.start()
    record = {**expected, "started": 4, "startSamples": 4, "medianStartS": (120 + 300) / 2}
    yield server, {"running": "0x" + bytes(running).hex(), "done": done_id, "cid": stored.cid,
                   "payloadBytes": stored.payload_bytes, "record": record, "provider": cast.provider2.address}
    seeded.stop()
    follower.join(timeout=10)
    server.stop()


def test_the_console_streams_metrics_disputes_through_the_wallet_and_downloads_the_result(console_site, cast, chain,
                                                                                         gp, tmp_path):
    from tests.gateway.test_gateway import sign_in

    server, made = console_site
    shown = requests.get(f"{server.url}/api/v1/reliability", params={"provider": made["provider"]}, timeout=10).json()
    assert shown["providers"][made["provider"].lower()] == made["record"]  # the chain's events, as the fixture made them
    token = sign_in(server.url, cast.renter)
    payload = requests.get(f"{server.url}/api/v1/instances/{made['done']}/result/payload", timeout=30,
                           headers={"Authorization": f"Bearer {token}"})
    assert payload.status_code == 200 and len(payload.content) == made["payloadBytes"]
    job = requests.get(f"{server.url}/api/v1/instances/{made['done']}", headers={"Authorization": f"Bearer {token}"},
                       timeout=10).json()
    assert job["resultCid"] == made["cid"]  # the ResultCommitted event, which the console's result view rests on
    out = tmp_path / "out"
    out.mkdir()
    output = playwright(["console.spec.ts"], browser_env(
        server.url, chain, cast, GPURENT_PROVIDER=made["provider"], GPURENT_RUNNING_JOB=made["running"],
        GPURENT_DONE_JOB=made["done"], GPURENT_RESULT_CID=made["cid"], GPURENT_RESULT_BYTES=str(made["payloadBytes"]),
        GPURENT_PAYLOAD_SHA256=hashlib.sha256(payload.content).hexdigest(), GPURENT_OUT=str(out)))
    assert "2 passed" in output, output
    job = gp.job(made["running"])
    assert job.status.label == "Disputed"  # the browser's wallet sent it
    dispute = gp.dispute(made["running"])
    assert dispute is not None and dispute.reason == (out / "reason.txt").read_text()


# ---------------------------------------------------------------------- what the gateway serves at /

@pytest.fixture
def tiny_web(tmp_path) -> Path:
    root = tmp_path / "dist"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text("<!doctype html><title>app</title><script type=module src=/assets/app-1.js></script>")
    (root / "assets" / "app-1.js").write_text("console.log('app')")
    (root / "assets" / "big-2.js").write_text("console.log('a long script');\n" * 200)
    (root / "assets" / "app-1.css").write_text("body{}")
    (root / "favicon.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    (root / ".env").write_text("SECRET=1")
    (tmp_path / "outside.txt").write_text("not the app's")
    (root / "link.txt").symlink_to(tmp_path / "outside.txt")
    return root


@pytest.fixture
def static_site(seeded, tiny_web):
    server = serve(seeded, WebApp(tiny_web))
    yield server
    server.stop()


def test_the_gateway_serves_the_app_its_files_and_pages_beside_the_api(static_site, seeded):
    url = static_site.url
    index = requests.get(f"{url}/", timeout=10)
    assert index.status_code == 200 and index.headers["content-type"] == "text/html; charset=utf-8"
    assert "<title>app</title>" in index.text and index.headers["cache-control"] == "no-cache"
    csp = index.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "connect-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp and index.headers["x-frame-options"] == "DENY"
    assert index.headers["x-content-type-options"] == "nosniff"

    script = requests.get(f"{url}/assets/app-1.js", timeout=10)
    assert script.headers["content-type"] == "text/javascript; charset=utf-8" and script.text == "console.log('app')"
    assert "immutable" in script.headers["cache-control"]
    assert requests.get(f"{url}/assets/app-1.css", timeout=10).headers["content-type"] == "text/css; charset=utf-8"
    assert requests.get(f"{url}/favicon.svg", timeout=10).headers["content-type"] == "image/svg+xml"
    assert requests.head(f"{url}/assets/app-1.js", timeout=10).status_code == 200
    big = requests.get(f"{url}/assets/big-2.js", timeout=10)  # requests asks for gzip
    assert big.headers["content-encoding"] == "gzip" and big.text == "console.log('a long script');\n" * 200
    assert int(big.headers["content-length"]) < 1000 and big.headers["vary"] == "Accept-Encoding"
    plain = requests.get(f"{url}/assets/big-2.js", headers={"Accept-Encoding": "identity"}, timeout=10)
    assert "content-encoding" not in plain.headers and len(plain.content) == 6000

    for page in ("/wallet", "/marketplace/deep/link", "/wallet?x=1"):  # the app's pages: index.html
        answer = requests.get(f"{url}{page}", timeout=10)
        assert answer.status_code == 200 and "<title>app</title>" in answer.text, page
    for missing in ("/assets/gone.js", "/logo.png", "/.env", "/link.txt", "/assets/../../outside.txt",
                    "/%2e%2e/outside.txt"):
        answer = requests.get(f"{url}{missing}", timeout=10)
        assert answer.status_code == 404 and "not the app's" not in answer.text and "SECRET" not in answer.text, missing

    api = requests.get(f"{url}/api/v1/health", timeout=10)  # the API is as it was, with its own CSP
    assert api.json()["web"] is True and api.headers["content-security-policy"].startswith("default-src 'none'")
    assert api.headers["cache-control"] == "no-store"
    unknown = requests.get(f"{url}/api/v1/nothing-here", timeout=10)
    assert unknown.status_code == 404 and unknown.headers["content-type"] == "application/json"
    assert requests.post(f"{url}/graphql", json={"query": "{ indexer { chainId } }"}, timeout=10).status_code == 200
    assert "/api/v1/gpus" in requests.get(f"{url}/docs", timeout=10).text
    chain = requests.get(f"{url}/api/v1/chain", timeout=10).json()
    assert chain["chainId"] == seeded.manifest.chain_id and chain["rpcUrl"] is None  # no chain connection given
    assert chain["token"] == {"address": seeded.manifest.contracts["GPUToken"], "symbol": "GPU", "decimals": 18}


def test_without_a_web_app_the_root_is_a_plain_404(seeded):
    server = serve(seeded, None)
    try:
        root = requests.get(f"{server.url}/", timeout=10)
        assert root.status_code == 404 and root.headers["content-type"] == "application/json"
        assert requests.get(f"{server.url}/api/v1/health", timeout=10).json()["web"] is False
    finally:
        server.stop()


def test_web_dir_defaults_to_the_checkout_build_and_refuses_a_folder_without_index(tmp_path, tiny_web):
    assert GatewaySettings().web_path() == repo_web_dir()
    assert parse_config({"gateway": {"web_dir": str(tiny_web)}}).web_path() == tiny_web
    assert GatewaySettings().overridden(web_dir=str(tiny_web)).web_path() == tiny_web
    with pytest.raises(ConfigurationError, match="holds no index.html"):
        WebApp(tmp_path / "empty")


@pytest.mark.parametrize("web", [True, False])
def test_gpurent_up_ends_with_the_web_app_url_or_how_to_build_it(capsys, web):
    from gpurent.cli.stack import _web_app
    from gpurent.command import App

    state = {"services": [{"service": "chain", "running": True, "endpoint": "http://127.0.0.1:8545"},
                          {"service": "gateway", "running": True, "endpoint": "http://127.0.0.1:8200",
                           "public_url": "http://127.0.0.1:8200", "web": web}]}
    _web_app(App(None, None, False, False), state)
    said = capsys.readouterr()
    text = said.out + said.err
    if web:
        assert "web app at http://127.0.0.1:8200/" in text, text
    else:
        assert "`make web`" in text and "web app at" not in text, text
    _web_app(App(None, None, True, False), state)  # --json: the state is the answer, no extra line
    assert capsys.readouterr().out == ""
