"""`gpurent jobs`: create, follow and end jobs."""

from __future__ import annotations

from decimal import Decimal, localcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from gpurent.command import App
from gpurent.cli.common import GPU_ID, HOURS, JOB_ID, MINUTES, PROVIDER, TOKENS, job_row, pass_app
from gpurent.errors import GpurentError, InvalidInput
from gpurent.sdk.booking import Booking, booking
from gpurent.sdk.deadlines import moment, span
from gpurent.types import AgentPhase, JobStatus, cli_names
from gpurent.units import for_people, to_tokens

if TYPE_CHECKING:
    from gpurent.sdk.provider import ProviderEndpoint
    from gpurent.wire.metrics import Summary


@click.group("jobs")
def group() -> None:
    """Rent a GPU: create, inspect, cancel, dispute or settle jobs."""


@group.command("create")
@click.option("--gpu", "gpu_id", type=GPU_ID, required=True, help="GPU id (from `gpurent gpus list`)")
@click.option("--image", "image_cid", help="IPFS CID of the Docker image (or `image` in --spec)")
@click.option("--hours", type=HOURS, required=True, help="Hours to book (billing stops when the job ends)")
@click.option("--cmd", "command", help='The command, split as a shell would: --cmd "python train.py --epochs 3"')
@click.option("--entrypoint", help="The entrypoint, split as a shell would (default: the image's)")
@click.option("--env", "env", multiple=True, metavar="K=V", help="An environment variable (repeatable)")
@click.option("--input", "inputs", multiple=True, metavar="CID:/PATH", help="Mount a dataset CID read-only (repeatable)")
@click.option("--output", help="The folder whose files come back as the result, e.g. /outputs")
@click.option("--secret", "secrets", multiple=True, metavar="NAME",
              help="A secret sealed to the provider: its value from the env var NAME, else a hidden prompt")
@click.option("--network", "network", is_flag=True, default=None, help="The job needs network access")
@click.option("--port", "ports", multiple=True, metavar="PORT[/tcp|/public]",
              help="A port the job serves, reached through the provider's ingress: HTTP for you only, "
                   "/public for anyone, /tcp through `jobs port-forward` (repeatable)")
@click.option("--spec", "spec_file", type=click.Path(dir_okay=False, path_type=Path),
              help="A job.toml with the same fields (flags beside it are refused, but --secret)")
@click.option("--no-encrypt", is_flag=True, help="Leave results unsealed (readable by anyone holding the CID)")
@click.option("--max-cost", type=TOKENS,
              help="Refuse (on chain) if the job would lock more than this (default: today's quote, so a "
                   "price raised before your transaction is mined refuses the job)")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation (refuses a job a check says would not run)")
@click.option("--force", is_flag=True, help="Lock the funds even when a check says the job would not run")
@pass_app
def create(app: App, gpu_id: str, image_cid: str | None, hours: Decimal, command: str | None,
           entrypoint: str | None, env: tuple[str, ...], inputs: tuple[str, ...], output: str | None,
           secrets: tuple[str, ...], network: bool | None, ports: tuple[str, ...], spec_file: Path | None,
           no_encrypt: bool, max_cost: Decimal | None, yes: bool, force: bool) -> None:
    """Creates a job: approves by signature and locks the max cost in one transaction, never
    more than the cost limit. Before that it checks the image, the provider's agent and the
    GPU's queue: when a check says the job would not run it asks (with --yes it refuses, unless
    --force); a check that could not be made is a warning."""
    seconds = int(hours * 3600)
    if seconds <= 0:
        raise click.BadParameter("must book at least one second", param_hint="--hours")
    from gpurent.cli import preflight
    from gpurent.cli import workload as flags

    spec = flags.spec_from(image_cid, command, entrypoint, env, inputs, output, network, spec_file, ports)
    spec = flags.with_result_key(spec, no_encrypt)  # refused before connecting: a malformed one too
    image_cid = spec.image
    gp = app.sdk(needs_account=True)
    resource = gp.resource(gpu_id)
    if secrets:
        spec = flags.with_secrets(gp, spec, resource.provider, secrets)
    quote = gp.quote(gpu_id, seconds)
    limit = max_cost if max_cost is not None else quote
    preflight.check_terms(gp, quote, limit)  # what the chain would refuse, said first and alone
    problems = [preflight.image_problem(app, image_cid),
                preflight.agent_problem(gp, resource.resource_id, resource.provider)]
    doubt = preflight.settle(problems, yes, force)  # Refused (one line) under --yes when one blocks
    preflight.report(app, problems)
    if note := preflight.queue_note(gp, resource.resource_id):
        app.output.info(note)
    if not yes or doubt:
        question = (f"Lock up to {for_people(quote)} GPU for {for_people(hours)} h on GPU {gpu_id[:10]}… "
                    f"(cost limit {for_people(limit)} GPU)")
        click.confirm(question + (" although the job may never run (see above)?" if doubt else "?"),
                      abort=True, err=True)
    with app.output.pending("Creating the job…"):
        created = gp.create_job(gpu_id, spec, seconds, max_cost=limit)
    job = created.value
    app.output.tx(created, f"job created; {for_people(job.max_cost)} GPU locked in escrow (limit {for_people(limit)} GPU)")
    app.output.data({**job_row(job), "cost_limit": limit}, title=f"Job {job.job_id}")


@group.command("show")
@click.argument("job_id", type=JOB_ID)
@pass_app
def show(app: App, job_id: str) -> None:
    """A job: status, times, cost so far and escrow; for its renter, what the provider's agent
    says (phase, timeline) and the job's usage (peak and mean of each metric)."""
    gp = app.reader()
    job = gp.job(job_id)
    escrow = gp.escrow(job_id)
    data = job_row(job)
    data.update({
        "user": job.user, "provider": job.provider, "price_per_hour": job.price_per_hour,
        "fee_bps": job.fee_bps, "start_time": job.start_time, "end_time": job.end_time,
        "accrued_cost": gp.accrued_cost(job_id), "escrow_released": escrow.released,
        "escrow_refunded": escrow.refunded,
    })
    data["next"] = gp.next_steps(job).text()  # what the renter can do, and from or until when
    low = _booking_rows(data, booking(job, gp.chain_time()))
    from gpurent.cli import workload as flags

    data.update(flags.result_rows(gp, job))
    dispute = gp.dispute(job_id) if job.status.label in ("Disputed", "Resolved") else None
    if dispute is not None:
        data["dispute"] = f"raised by {dispute.initiator}: {dispute.reason}"
        if dispute.outcome is not None:
            data["ruling"] = f"{dispute.outcome.name.lower()}, provider paid {dispute.final_cost}"
            data["evidence"] = f"{dispute.evidence_cid or '(none: split after the timeout)'}"
    if gp.account is not None and gp.account.address.lower() == job.user.lower():
        from gpurent.sdk.provider import ProviderEndpoint

        try:  # what the provider's agent says: its phase (pulling, running, exited…) and timeline
            endpoint = ProviderEndpoint.for_job(gp, job)
            remote = endpoint.phase(job.job_id)
            pulling = remote["phase"] == AgentPhase.PULLING and remote["bytes_total"]
            data["phase"] = remote["phase"] + (f" ({remote['bytes_done']:,}/{remote['bytes_total']:,} bytes)"
                                               if pulling else "")
            if remote.get("exit_code") is not None:
                data["exit_code"] = remote["exit_code"]
            data["timeline"] = " → ".join(step["phase"] for step in remote["timeline"])
            if remote["ports"]:  # what the job serves, and where (see `jobs port-forward`)
                data["ports"] = _port_rows(endpoint, remote["ports"], app.output.as_json)
            if remote["phase"] in (AgentPhase.DECLINED, AgentPhase.FAILED) and remote["error"]:
                data["reason"] = _provider_text(remote["error"])  # why the agent gave the job back
        except GpurentError as err:
            data["phase"] = f"unknown ({err})"
        else:  # the agent answered: what the job used over its whole run, when it has a record
            usage = _usage(endpoint, job.job_id)
            if usage is not None:
                from gpurent.cli.top import usage_rows

                data["usage"] = usage if app.output.as_json else usage_rows(usage)
    app.output.data(data, title=f"Job {job.job_id}")
    if low:
        app.output.warn(low)


class _BookingLine:
    """``jobs top``'s line under the table: the booked time left and the cost so far, read from
    the chain at most every ``EVERY_S``; the low-time warning goes to stderr once."""

    EVERY_S = 5.0

    def __init__(self, app: App, gp: Any, job_id: str):
        self.app, self.gp, self.job_id = app, gp, job_id
        self._line: str | None = None
        self._at = 0.0
        self._warned = False

    def __call__(self) -> str | None:
        import time

        if time.monotonic() - self._at >= self.EVERY_S:
            self._at = time.monotonic()
            try:
                b = booking(self.gp.job(self.job_id), self.gp.chain_time())
            except GpurentError:
                return self._line  # the chain unreachable for a moment: the last line stands
            rows: dict[str, object] = {"id": self.job_id}
            low = _booking_rows(rows, b)
            if "time_left" in rows:
                self._line = (f"booked: {rows['time_left']} · cost so far {for_people(b.cost_so_far)} GPU · "
                              f"can still cost {for_people(b.most_more)} GPU")
            if low and not self._warned:
                self._warned = True
                self.app.output.warn(low)
        return self._line


def _booking_rows(data: dict[str, object], b: Booking) -> str | None:
    """Adds where the job's booked time stands to ``data``; returns the warning for a running
    job low on time (under 10% or 10 minutes left), else None."""
    if b.status in (JobStatus.CREATED, JobStatus.ACCEPTED):
        data["booked"] = span(b.booked_s)
        data["can_cost_at_most"] = b.max_cost
        return None
    if not b.running or b.end is None or b.seconds_left is None:
        return None
    data["booked_end"] = moment(b.end, b.now)
    data["time_left"] = f"{span(b.seconds_left)} of {span(b.booked_s)} booked"
    data["seconds_left"] = b.seconds_left
    data["cost_so_far"] = b.cost_so_far
    data["can_still_cost"] = b.most_more
    if not b.running_low:
        return None
    left = "its booked time is up" if b.seconds_left == 0 else f"only {span(b.seconds_left)} of its booked time left"
    return (f"job {str(data['id'])[:10]}… has {left} (until {moment(b.end, b.now)}): its provider stops it then; "
            f"book more with `gpurent jobs extend {data['id']} --hours N`")


def _port_rows(endpoint: ProviderEndpoint, ports: list[Any], as_json: bool) -> Any:
    """The job's ports: each with its URL on the provider's endpoint (an http port) or the
    port-forward that reaches it (a tcp port)."""
    rows = [{**p, "url": endpoint.url + p["path"] if p["path"] else None} for p in ports]
    if as_json:
        return rows
    return ", ".join(f"{r['port']}/{r['protocol']}{' public' if r['public'] else ''}"
                     + (f" {r['url']}" if r["url"] else " (port-forward)") for r in rows)


REASON_MAX = 300  # characters of the provider's reason for a declined job shown


def _usage(endpoint: ProviderEndpoint, job_id: str) -> Summary | None:
    """The job's usage summary from its agent; None before the first sample, or from an agent
    that does not sample usage (or refuses, or answers malformed: ``jobs show`` goes on)."""
    try:
        summary = endpoint.job_metrics(job_id)["summary"]
    except GpurentError:
        return None
    return summary if summary is not None and summary["samples"] else None


def _provider_text(text: str) -> str:
    """The provider's free text as one bounded line, safe for a terminal (it is untrusted)."""
    from gpurent.output import safe_text

    lines = text.strip().splitlines()
    line = safe_text(lines[0] if lines else "")
    return line if len(line) <= REASON_MAX else line[:REASON_MAX - 1] + "…"


@group.command("evidence")
@click.argument("job_id", type=JOB_ID)
@pass_app
def evidence(app: App, job_id: str) -> None:
    """The oracle's ruling on a disputed job and the evidence behind it (from IPFS)."""
    import json

    from gpurent.local.ipfs import ipfs_client

    gp = app.sdk()
    dispute = gp.dispute(job_id)
    if dispute is None:
        raise click.UsageError(f"job {job_id} was never disputed")
    if dispute.outcome is None or not dispute.evidence_cid:
        raise click.UsageError(f"job {job_id} has no evidence yet: " + (
            "the oracle has not ruled" if dispute.outcome is None else "it was split after the dispute timeout"))
    document = json.loads(ipfs_client().cat_bytes(dispute.evidence_cid, timeout=60))
    if app.output.as_json:
        app.output.data(document)
        return
    record = document["provider_record"]
    beats = document["heartbeats"]
    app.output.data({
        "ruling": document["ruling"]["outcome"], "rule": document["ruling"]["rule"],
        "evidence": dispute.evidence_cid, "oracle": document["oracle"],
        "dispute": f"{document['dispute']['initiator']}: {document['dispute']['reason']}",
        "heartbeats": f"{beats['kept']}/{beats['expected']} kept, longest miss run {beats['longest_miss_run']}",
        "challenges": ", ".join(c["outcome"] for c in document["challenges"]) or "none during the job",
        "provider record": (f"phase {record['job']['phase']}, exit code {record['job']['exit_code']}, "
                            f"{record['log_bytes']:,} log bytes" if "job" in record else record.get("error")),
        "image": ("intact: " if document["image"]["intact"] else "NOT intact: ") + document["image"]["detail"],
        "timeline": " → ".join(e["event"] for e in document["chain_timeline"]),
    }, title=f"Dispute of {document['job']['id']}")


@group.command("logs")
@click.argument("job_id", type=JOB_ID)
@click.option("-f", "--follow", is_flag=True, help="Keep streaming until the job ends")
@pass_app
def logs(app: App, job_id: str, follow: bool) -> None:
    """The job's container output, from the provider's endpoint (signed: renter only). On a
    terminal, escape sequences and control characters are taken out; piped, the bytes are kept."""
    import sys

    from gpurent.sdk.provider import ProviderEndpoint

    from gpurent.output import TerminalStream

    gp = app.sdk(needs_account=True)
    job = gp.job(job_id)
    terminal = TerminalStream() if sys.stdout.isatty() else None  # a file or a pipe gets the bytes as sent
    for chunk in ProviderEndpoint.for_job(gp, job).logs(job.job_id, follow=follow):
        if terminal is None:
            sys.stdout.buffer.write(chunk)
        else:
            sys.stdout.write(terminal.feed(chunk))
        sys.stdout.flush()
    if terminal is not None:
        sys.stdout.write(terminal.feed(b"", final=True))


@group.command("top")
@click.argument("job_id", type=JOB_ID)
@pass_app
def top(app: App, job_id: str) -> None:
    """The job's usage, live, from the provider's agent (signed: renter only): CPU, memory,
    network, disk and processes of its container and its GPU's readings, about once a second.
    A table updated in place on a terminal, one line per sample otherwise; with --json one
    sample per line, then {"job_id", "summary"}. Ends when the job is past running, with the
    usage over its whole run, or on Ctrl-C."""
    from gpurent.cli.top import TopView
    from gpurent.sdk.provider import ProviderEndpoint

    gp = app.sdk(needs_account=True)
    job = gp.job(job_id)
    endpoint = ProviderEndpoint.for_job(gp, job)
    view = TopView(app.output, f"Job {job.job_id[:10]}…", extra=_BookingLine(app, gp, job.job_id))
    try:
        for sample in endpoint.follow_metrics(job.job_id):
            view.show(sample)
    except KeyboardInterrupt:
        view.close(None, job.job_id)
        return
    view.close(endpoint.job_metrics(job.job_id)["summary"], job.job_id)


@group.command("list")
@click.option("--user", help="Renter address (default: --account)")
@click.option("--provider", type=PROVIDER, help="List a provider's jobs instead")
@click.option("--status", type=click.Choice(cli_names(JobStatus)))
@pass_app
def list_jobs(app: App, user: str | None, provider: str | None, status: str | None) -> None:
    """A renter's (or a provider's) jobs, from the chain's events."""
    gp = app.reader()
    if provider:
        jobs = gp.jobs_of_provider(provider)
    else:
        if user is None:
            user = app.sdk(needs_account=True).address
        jobs = gp.jobs_of_user(user)
    if status:
        jobs = [j for j in jobs if j.status.name.lower() == status]
    app.output.data([job_row(j) for j in jobs], title=f"{len(jobs)} job(s)")


def _job_action(name: str, help_text: str, method: str, done: str) -> click.Command:
    @group.command(name, help=help_text)
    @click.argument("job_id", type=JOB_ID)
    @pass_app
    def command(app: App, job_id: str) -> None:
        gp = app.sdk(needs_account=True)
        if name == "cancel" and gp.job(job_id).status == JobStatus.RUNNING:
            raise InvalidInput(f"job {job_id[:10]}… is running: cancel is for jobs that have not started; "
                               f"end it with `gpurent jobs complete {job_id}` (billed by the seconds it ran)")
        with app.output.pending(f"{name.capitalize()}…"):
            receipt = getattr(gp, method)(job_id)
        app.output.tx(receipt, done)
        app.output.data(job_row(gp.job(job_id)))

    return command


_job_action("cancel", "Cancels a job that has not started; the escrow is refunded in full.", "cancel_job",
            "cancelled")
_job_action("complete", "Settles a running job by the seconds it ran (stops billing).", "complete_job",
            "settled")


@group.command("extend")
@click.argument("job_id", type=JOB_ID)
@click.option("--hours", type=HOURS, help="Hours to add to the booking (decimals allowed: 0.25 is 15 min)")
@click.option("--minutes", type=MINUTES, help="Minutes to add to the booking")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation")
@pass_app
def extend(app: App, job_id: str, hours: Decimal | None, minutes: Decimal | None, yes: bool) -> None:
    """Books more time of a job that has not ended (Created, Accepted, or Running before its
    booked end) at the job's own price: approves by signature and locks what the extra time
    costs in one transaction. Unused time is refunded when the job ends, as before."""
    seconds = _extra_seconds(hours, minutes)
    gp = app.sdk(needs_account=True)
    job, units = gp.check_extendable(job_id, seconds)  # refused in one line before anything is asked or signed
    cost = to_tokens(units)
    if not yes:
        click.confirm(f"Lock {for_people(cost)} GPU more to book {span(seconds)} more of job {job.job_id[:10]}… "
                      f"(at {for_people(job.price_per_hour)} GPU/h)?", abort=True, err=True)
    with app.output.pending("Extending the job…"):
        extended = gp.extend_job(job.job_id, seconds)
    new = extended.value
    b = booking(new, gp.chain_time())
    until = f", booked until {moment(b.end, b.now)}" if b.end is not None else ""
    app.output.tx(extended, f"job extended by {span(seconds)}; {for_people(cost)} GPU more locked in escrow "
                            f"({for_people(new.max_cost)} GPU in all){until}")
    row: dict[str, object] = {**job_row(new), "extra_seconds": seconds, "extra_cost": cost}
    if b.end is not None:
        row["booked_end"] = b.end
    app.output.data(row, title=f"Job {new.job_id}")


def _extra_seconds(hours: Decimal | None, minutes: Decimal | None) -> int:
    """The seconds ``--hours`` or ``--minutes`` name (exactly one of them), exactly: a value
    that is not a whole number of seconds is refused, not rounded."""
    if (hours is None) == (minutes is None):
        raise click.UsageError("say how much longer: --hours N or --minutes N (one of them)")
    option, amount, unit = ("--hours", hours, 3600) if hours is not None else ("--minutes", minutes, 60)
    assert amount is not None
    with localcontext() as ctx:
        ctx.prec = 250  # exact for any quantity the command line reads (100 characters at most)
        seconds = amount * unit
    if seconds != seconds.to_integral_value():
        raise click.BadParameter(f"{amount} is {seconds.normalize():f} s: give a whole number of seconds",
                                 param_hint=option)
    return int(seconds)


@group.command("dispute")
@click.argument("job_id", type=JOB_ID)
@click.option("--reason", required=True, help="What went wrong, for the oracle")
@pass_app
def dispute(app: App, job_id: str, reason: str) -> None:
    """Disputes a running job within its booked time plus the completion grace: billing stops
    and the oracle rules. The disputer posts a bond, returned unless the ruling goes against it."""
    gp = app.sdk(needs_account=True)
    gp.check_disputable(job_id)
    bond = gp.dispute_bond(job_id)
    app.output.info(f"posting a dispute bond of {for_people(bond)} GPU (returned unless the ruling goes against you)")
    with app.output.pending("Disputing…"):
        receipt = gp.dispute_job(job_id, reason)
    app.output.tx(receipt, f"disputed; bond of {for_people(bond)} GPU posted")
    app.output.data({**job_row(gp.job(job_id)), "bond": bond})




@group.command("spec")
@click.argument("job_id", type=JOB_ID)
@pass_app
def spec(app: App, job_id: str) -> None:
    """What a job committed to: its definition (secrets by name only)."""
    from gpurent.cli import workload as flags

    flags.show_spec(app, job_id)


@group.command("results")
@click.argument("job_id", type=JOB_ID)
@click.option("-o", "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder to write the files into (must not exist or be empty)")
@click.option("--allow-unsealed", is_flag=True,
              help="Accept a result the provider left unsealed although the definition named your key")
@pass_app
def results(app: App, job_id: str, out_dir: Path, allow_unsealed: bool) -> None:
    """Fetches a job's result, verifies it against the CID committed on chain, decrypts it with
    your results key and writes its files; nothing is written unless everything verified."""
    from gpurent.cli import workload as flags

    flags.fetch(app, job_id, out_dir, allow_unsealed=allow_unsealed)


from gpurent.cli import interactive  # noqa: E402 - port-forward, exec and shell live in their own module

interactive.register(group)
