"""``make demo`` / ``gpurent demo``: the main job end to end on real components.

In a fresh state folder (a temporary one unless ``--home``) and on ports the OS picks, it starts
the whole stack (:mod:`gpurent.local.stack`: Anvil with the suite deployed, Kubo, podman, the indexer,
the oracle, a provider agent), builds the sample image and pushes it to IPFS, and then, as the
renter (test account 5): lists GPUs through the indexer, creates a job with one permit-signed
transaction, follows it through the provider's endpoint until it is settled, and prints the
job's own output, the timeline, the cost breakdown, the provider's reputation before and after
(once the oracle has reported the period of the job) and the indexer's answer to one GraphQL
query. Then it stops everything it started.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.panel import Panel
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from gpurent.local import stack
from gpurent.agent.state import OPEN
from gpurent.types import AgentPhase
from gpurent.errors import ConfigurationError
from gpurent.local.process import alive
from gpurent.output import as_text, safe_lines
from gpurent.units import to_tokens

if TYPE_CHECKING:
    from gpurent.sdk import Gpurent
    from gpurent.sdk.provider import ProviderEndpoint
    from gpurent.types import Job, Reputation, Validation

RENTER = "5"
BOOKING_S = 3600
DEMO_ITERATIONS = 80  # the sample job reads it from its input, /data/params
#: settings that would point the demo at something other than its own stack
FOREIGN_ENV = ("GPURENT_NETWORK", "GPURENT_ACCOUNT", "GPURENT_IPFS_API", "GPURENT_IPFS_GATEWAY", "DOCKER_HOST",
               "GPURENT_INDEXER_URL")
DEMO_OPTIONS = {"block_time": 1, "heartbeat_interval_s": 2, "report_period_s": 10}

JOB_QUERY = """query ($id: String!) {
  job(id: $id) {
    status totalCost startTime endTime
    history { status block }
  }
}"""


@dataclass
class Demo:
    """What the demo saw, step by step (``--json`` prints it)."""

    home: str
    steps: list[dict[str, Any]] = field(default_factory=list)
    result: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"home": self.home, "steps": self.steps, **self.result}


class Reporter:
    """Prints the demo with Rich: a line per step (with its seconds), tables and panels."""

    def __init__(self, console: Console, demo: Demo):
        self.console = console
        self.demo = demo
        self.started = time.monotonic()

    def step(self, service: str, what: str) -> None:
        elapsed = time.monotonic() - self.started
        self.demo.steps.append({"at_s": round(elapsed, 2), "service": service, "what": what})
        # ``what`` quotes the provider's answers (a phase's detail): text, never markup
        self.console.print(Text.assemble((f"{elapsed:6.1f}s", "dim"), "  ", ("✓", "green"), " ",
                                         (f"{service:<9}", "bold"), " ", as_text(what)), highlight=False)

    @contextmanager
    def waiting(self, what: str) -> Iterator[Callable[[str], None]]:
        with self.console.status(as_text(what)) as status:
            yield lambda text: status.update(as_text(text))


def _isolate(home: Path) -> dict[str, str | None]:
    """Points this process (and every service it starts) at ``home`` and the embedded defaults;
    returns the environment it replaced."""
    saved = {key: os.environ.get(key) for key in (*FOREIGN_ENV, "GPURENT_HOME")}
    for key in FOREIGN_ENV:
        os.environ.pop(key, None)
    os.environ["GPURENT_HOME"] = str(home)
    return saved


def _restore(saved: dict[str, str | None]) -> None:
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def run(console: Console | None = None, home: Path | None = None, keep_running: bool = False,
        chain: str = "anvil") -> dict[str, Any]:
    """Runs the demo on ``chain`` (``anvil`` or ``geth``); returns what it saw. Everything it
    started is stopped on the way out (unless ``keep_running``), whether it succeeded or not."""
    console = console or Console()
    temporary = home is None
    home = Path(tempfile.mkdtemp(prefix="gpurent-demo-")) if home is None else home
    home.mkdir(parents=True, exist_ok=True)
    saved = _isolate(home)
    if stack.running_services():
        _restore(saved)
        raise ConfigurationError(f"a gpurent stack already runs in {home}: stop it (GPURENT_HOME={home} gpurent "
                                 "down) or give the demo another --home")
    demo = Demo(home=str(home))
    report = Reporter(console, demo)
    succeeded = False
    try:
        console.rule("[bold]gpurent demo[/]: rent a GPU, run a container, pay by the second")
        stack_status = stack.up(stack.StackOptions.any_ports(**DEMO_OPTIONS, chain=chain), report.step)
        demo.result["pids"] = {s["service"]: s["pid"] for s in stack_status["services"]}
        _main_job(report, demo)
        succeeded = True
    finally:
        if not keep_running:
            _shut_down(report, demo)
            if temporary and succeeded:
                shutil.rmtree(home, ignore_errors=True)
            elif not succeeded:
                console.print(f"[yellow]![/] the services' logs are kept in {home}")
        _restore(saved)
    return demo.as_dict()


def _shut_down(report: Reporter, demo: Demo) -> None:
    stack.down(lambda service, what: report.step(service, what))
    pids = [pid for pid in demo.result.get("pids", {}).values() if pid]
    left = [pid for pid in pids if alive(pid)]
    demo.result["left_running"] = left
    if left:
        report.console.print(f"[red]✗[/] still running: {left}")
    elif pids:
        report.step("stack", f"all {len(pids)} processes stopped; nothing left behind")


def _main_job(report: Reporter, demo: Demo) -> None:
    from gpurent import sample
    from gpurent.sdk.provider import ProviderEndpoint
    from gpurent.sdk import Gpurent, resolve_account
    from gpurent.local.devnet import running_devnet
    from gpurent.local.engine import engine_client
    from gpurent.local.ipfs import ipfs_client
    from gpurent.images.store import ImageStore
    from gpurent.indexer import service as indexer_service
    from gpurent.sdk.workload import results_keypair
    from gpurent.workload.data import push_data
    from gpurent.workload.spec import InputMount, JobSpec

    console = report.console
    gp = Gpurent.connect(network=running_devnet().url, account=RENTER)  # type: ignore[union-attr]
    gp.quiet_traces = True
    provider = str(resolve_account(stack.StackOptions().provider_account).address)
    treasury = gp.parameters()["treasury"]
    report.step("renter", f"connected as test account {RENTER} ({gp.address})")

    # -- the image: built locally, pushed to IPFS by CID
    image_id = sample.build(engine_client())
    pushed = ImageStore(ipfs_client()).push_local(sample.TAG, uploader=gp.address)
    report.step("image", f"built {sample.TAG} ({image_id[7:19]}), pushed {pushed.metadata.size:,} bytes "
                f"as {pushed.cid}")

    # -- the job's input (a dataset, here one small file) and its definition: input, output, key
    data_dir = Path(os.environ["GPURENT_HOME"]) / "demo-data"
    data_dir.mkdir(exist_ok=True)
    (data_dir / "params").write_text(f"iterations={DEMO_ITERATIONS}\n")
    data = push_data(ipfs_client(), data_dir)
    report.step("data", f"pushed {data.size:,} bytes as {data.cid} ({data.digest[:19]}…)")
    key = results_keypair()
    assert key is not None  # made on first use
    spec = JobSpec(image=pushed.cid, inputs=(InputMount(data.cid, "/data"),), output="/outputs",
                   result_key=key.public_b64)

    # -- the renter searches the market through the indexer
    gpus = stack.wait_until(lambda: indexer_service.find_gpus(), "the indexer listing the provider's GPU", 60)
    table = Table(title="gpurent gpus list (through the indexer)", title_justify="left")
    for column in ("id", "model", "vcpu", "memory GiB", "GPU/hour", "reputation"):
        table.add_column(column)
    for g in gpus:
        table.add_row(as_text(f"{g['id'][:8]}…{g['id'][-4:]}"), as_text(g["model"]), str(g["vcpu"]),
                      str(g["memory_gb"]), str(g["price_per_hour"]), str(g["reputation"]))
    console.print(table)
    gpu = gpus[0]  # the cheapest

    before = {"renter": gp.balance(), "provider": gp.balance(provider), "treasury": gp.balance(treasury)}
    reputation_before = gp.reputation(provider)

    # -- one permit-signed transaction: approve and lock the escrow
    quote = gp.quote(gpu["id"], BOOKING_S)
    created = gp.create_job(gpu["id"], spec, BOOKING_S, max_cost=quote)
    job = created.value
    report.step("renter", f"created job {job.job_id[:10]}…{job.job_id[-6:]}: {quote} GPU locked for up to "
                f"{BOOKING_S // 60} min at {gpu['price_per_hour']} GPU/h (gas {created.gas_used:,}); its "
                f"definition is {job.image_cid}")

    endpoint = ProviderEndpoint.for_job(gp, job)
    agent_view = _follow(report, gp, endpoint, job.job_id)
    completed_wall = time.time()
    output = b"".join(endpoint.logs(job.job_id)).decode(errors="replace")
    console.print(Panel(Text(safe_lines(output.rstrip())), title="job output (from the provider's endpoint, signed by the renter)",
                        title_align="left", expand=False))

    # -- the result: committed on chain with the settlement, fetched, checked and opened here
    out = Path(os.environ["GPURENT_HOME"]) / "demo-results"
    shutil.rmtree(out, ignore_errors=True)
    manifest = gp.fetch_results(job.job_id, out)
    result_cid = gp.result_cid(job.job_id)
    report.step("renter", f"fetched the result {result_cid}: {manifest.file_count} file(s), "
                f"{manifest.total_bytes:,} bytes, every hash checked, opened with the renter's key")
    picture = (out / "mandelbrot.txt").read_text(errors="replace")
    console.print(Panel(Text(safe_lines(picture.rstrip())), title="results/mandelbrot.txt (the job's /outputs)",
                        title_align="left", expand=False))

    # -- settling credited the provider's earnings in the marketplace (no transfer, less gas per
    # job); the provider withdraws them in one transfer for any number of jobs
    paid = gp.with_account(resolve_account(stack.StackOptions().provider_account)).withdraw_earnings().value
    report.step("provider", f"withdrew its earnings: {paid.amount} GPU (the {paid.fee} GPU fee to the treasury)")

    settled = gp.job(job.job_id)
    events = gp.job_events(job.job_id)
    after = {"renter": gp.balance(), "provider": gp.balance(provider), "treasury": gp.balance(treasury)}
    timeline = _timeline(events, agent_view["timeline"])
    console.print(_timeline_table(timeline))
    costs = _costs(settled, events, before, after)
    console.print(_cost_table(costs))

    # -- the oracle's report for the period the job ended in, then the score
    period = int(completed_wall // DEMO_OPTIONS["report_period_s"])
    with report.waiting("waiting for the oracle to report the job's period…"):
        stack.wait_until(lambda: (gp.validation(provider).last_period or -1) >= period,
                         "the oracle's report on the provider", 60)
    reputation_after = gp.reputation(provider)
    validation = gp.validation(provider)
    report.step("oracle", f"reported the job's period ({DEMO_OPTIONS['report_period_s']} s periods): score "
                f"{reputation_before.score} → {reputation_after.score}")
    console.print(_reputation_table(reputation_before, reputation_after, validation))

    # -- the indexer's view, by GraphQL
    url = indexer_service.graphql_url()
    answer = stack.wait_until(lambda: _indexed(url, job.job_id), "the indexer recording the settlement", 60)
    report.step("indexer", "has the job as Completed")
    console.print(Panel(Syntax(JOB_QUERY, "graphql", theme="ansi_dark", background_color="default"),
                        title=f"POST {url}  (variables: id = job id)", title_align="left", expand=False))
    text = re.sub(r'\{\s+"status": "(\w+)",\s+"block": (\d+)\s+\}', r'{"status": "\1", "block": \2}',
                  json.dumps(answer, indent=2))
    console.print(Syntax(text, "json", theme="ansi_dark", background_color="default"))

    demo.result.update({
        "renter": gp.address, "provider": provider, "treasury": treasury, "gpu": gpu["id"], "image_cid": pushed.cid,
        "job_id": job.job_id, "status": settled.status.label, "output": output, "data_cid": data.cid,
        "result_cid": result_cid, "result_files": {f.path: f.sha256 for f in manifest.files}, "result_picture": picture, "timeline": timeline, "costs": costs,
        "balances_before": before, "balances_after": after, "graphql": {"url": url, "answer": answer},
        "reputation": {"before": reputation_before.score, "after": reputation_after.score,
                       "heartbeats": f"{validation.heartbeats_kept}/{validation.heartbeats_expected}",
                       "reports": validation.reports},
    })
    gp.close()


def _indexed(url: str | None, job_id: str) -> dict[str, Any] | None:
    from gpurent.indexer import service as indexer_service

    if url is None:
        return None
    answer = indexer_service.query(url, JOB_QUERY, {"id": job_id})
    return answer if answer["job"] and answer["job"]["status"] == "Completed" else None


def _follow(report: Reporter, gp: Gpurent, endpoint: ProviderEndpoint, job_id: str, timeout_s: float = 180) -> dict[str, Any]:
    """Follows the job (the provider's phase, the chain's status) until it is settled on chain."""
    from gpurent.errors import GpurentError

    seen: set[str] = set()
    deadline = time.monotonic() + timeout_s
    with report.waiting("waiting for the provider to pick the job up…") as show:
        while True:
            try:
                view = endpoint.phase(job_id)
            except GpurentError:
                view = None  # the agent has not seen the job yet
            status = gp.job(job_id).status.label
            if view is not None:
                for entry in view["timeline"]:
                    if entry["phase"] not in seen:
                        seen.add(entry["phase"])
                        report.step("provider", entry["phase"] + (f": {entry['detail']}" if entry["detail"] else ""))
                progress = (f" {view['bytes_done']:,}/{view['bytes_total']:,} bytes"
                            if view["phase"] == AgentPhase.PULLING and view["bytes_total"] else "")
                show(f"provider: {view['phase']}{progress}; chain: {status}")
                if status in ("Completed", "Resolved", "Cancelled") and view["phase"] not in OPEN:
                    return view
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} was still {status} after {timeout_s:.0f} s")
            time.sleep(0.2)


def _timeline(events: list[dict[str, Any]], phases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The chain's events and the provider's phases in one list, as seconds after creation."""
    names = {"JobCreated": "created", "JobAccepted": "accepted", "JobStarted": "running (billing starts)",
             "JobCompleted": "completed (billing stops)", "FundsReleased": "provider credited",
             "Refunded": "renter refunded", "JobCancelled": "cancelled", "JobDisputed": "disputed"}
    rows = [{"at": e["timestamp"], "source": f"chain, block {e['block']}", "event": names.get(e["event"], e["event"]),
             "detail": e["event"]} for e in events]
    rows += [{"at": p["at"], "source": "provider agent", "event": p["phase"], "detail": p["detail"] or ""}
             for p in phases]
    origin = min(r["at"] for r in rows)
    rows.sort(key=lambda r: (r["at"], r["source"] != "provider agent"))
    return [{**r, "t_s": round(r["at"] - origin, 1)} for r in rows]


def _timeline_table(timeline: list[dict[str, Any]]) -> Table:
    table = Table(title="Timeline (seconds after creation; blocks carry whole seconds)", title_justify="left")
    for column in ("t", "what", "where", "detail"):
        table.add_column(column, justify="right" if column == "t" else "left")
    for row in timeline:
        table.add_row(f"+{row['t_s']:.1f}", as_text(row["event"]), as_text(row["source"]), as_text(row["detail"]))
    return table


def _costs(job: Job, events: list[dict[str, Any]], before: dict[str, Decimal],
           after: dict[str, Decimal]) -> dict[str, Any]:
    releases = [e["args"] for e in events if e["event"] == "FundsReleased"]  # the agent settles as it runs
    provider_paid = sum(int(r["providerAmount"]) for r in releases)
    fee_paid = sum(int(r["fee"]) for r in releases)
    refunded = next((e["args"]["amount"] for e in events if e["event"] == "Refunded"), 0)
    return {
        # billed to the container's end (completeJobAt), not to the settlement's block
        "billed_seconds": round(job.final_cost * 3600 / job.price_per_hour), "price_per_hour": job.price_per_hour,
        "locked": job.max_cost, "final_cost": job.final_cost,
        "provider": to_tokens(provider_paid), "platform_fee": to_tokens(fee_paid),
        "refund": to_tokens(int(refunded)),
        "delta": {who: after[who] - before[who] for who in before},
    }


def _cost_table(costs: dict[str, Any]) -> Table:
    table = Table(title=f"Cost: {costs['billed_seconds']} s billed at {costs['price_per_hour']} GPU/hour",
                  title_justify="left")
    table.add_column("")
    table.add_column("GPU", justify="right")
    table.add_column("balance change", justify="right")
    delta = costs["delta"]
    table.add_row("locked in escrow", str(costs["locked"]), "")
    table.add_row("provider (98%)", str(costs["provider"]), f"{delta['provider']:+}")
    table.add_row("platform fee (2%)", str(costs["platform_fee"]), f"{delta['treasury']:+}")
    table.add_row("refunded to the renter", str(costs["refund"]), "")
    table.add_row("[bold]renter paid[/]", f"[bold]{costs['final_cost']}[/]", f"{delta['renter']:+}")
    return table


def _reputation_table(before: Reputation, after: Reputation, validation: Validation) -> Table:
    table = Table(title="Provider reputation (0-1000; components 0-1)", title_justify="left")
    for column in ("", "score", "uptime", "response", "completion", "jobs"):
        table.add_column(column, justify="left" if not column else "right")
    for label, r in (("before the job", before), ("after the oracle's report", after)):
        table.add_row(label, str(r.score), f"{r.uptime:.3f}", f"{r.response:.3f}", f"{r.completion:.3f}",
                      f"{r.successful_jobs}/{r.total_jobs}")
    table.caption = (f"oracle: {validation.reports} report(s), {validation.heartbeats_kept}/"
                     f"{validation.heartbeats_expected} heartbeats kept")
    return table


def json_console() -> Console:
    """A console that prints nothing (``--json`` prints only the result)."""
    return Console(file=io.StringIO())
