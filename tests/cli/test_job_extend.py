"""`gpurent jobs extend`: a renter books more time of its job (real Anvil), and `jobs show` says
how much booked time is left, what the job cost so far, and warns when a running job runs low."""

from __future__ import annotations

import re
from decimal import Decimal

from gpurent.units import TOKEN, to_tokens
from tests.cli.test_cli import CID, OUTSIDER, RENTER, assert_one_line_error, cli, listed_gpu  # noqa: F401 - fixtures


def _running(cli, listed_gpu, suite, cast, hours: str = "1"):  # noqa: F811
    job = cli("--json", "--account", RENTER, "jobs", "create", "--gpu", listed_gpu, "--image", CID,
              "--hours", hours, "--yes")
    return job, suite.marketplace.acceptAndStartJob(job["id"], sender=cast.provider).timestamp


def test_extend_a_running_job_by_half_an_hour(cli, listed_gpu, suite, cast, chain):  # noqa: F811
    job, start = _running(cli, listed_gpu, suite, cast)
    chain.pending_timestamp = start + 600
    before = suite.token.balanceOf(cast.renter)
    result = cli("--account", RENTER, "jobs", "extend", job["id"], "--hours", "0.5", "--yes")
    assert "job extended by 30 min; 5 GPU more locked in escrow (15 GPU in all), booked until " in result.stderr
    assert before - suite.token.balanceOf(cast.renter) == 5 * TOKEN
    onchain = suite.marketplace.getJob(job["id"])
    assert (onchain.estimatedDuration, onchain.maxCost) == (5400, 15 * TOKEN)
    again = cli("--json", "--account", RENTER, "jobs", "extend", job["id"], "--minutes", "15", "--yes")
    assert (again["extra_seconds"], again["extra_cost"], again["max_cost"]) == (900, "2.5", "17.5")
    assert again["booked_end"] == start + 6300 and again["hours"] == "1.75"


def test_extend_a_created_job_and_show_its_booking(cli, listed_gpu, suite, cast):  # noqa: F811
    job = cli("--json", "--account", RENTER, "jobs", "create", "--gpu", listed_gpu, "--image", CID,
              "--hours", "1", "--yes")
    extended = cli("--json", "--account", RENTER, "jobs", "extend", job["id"], "--minutes", "90", "--yes")
    assert (extended["extra_seconds"], extended["extra_cost"], extended["status"]) == (5400, "15", "Created")
    assert "booked_end" not in extended  # it has not started: its end is not set yet
    shown = cli("--json", "jobs", "show", job["id"])
    assert (shown["booked"], shown["can_cost_at_most"]) == ("2 h 30 min", "25")


def test_extend_asks_before_locking(cli, listed_gpu, suite, cast):  # noqa: F811
    job, _ = _running(cli, listed_gpu, suite, cast)
    result = cli("--account", RENTER, "jobs", "extend", job["id"], "--hours", "2", input="n\n", code=1)
    assert "Lock 20 GPU more to book 2 h more of job" in result.stderr
    assert suite.marketplace.getJob(job["id"]).estimatedDuration == 3600


def test_extend_mistakes_are_one_line(cli, listed_gpu, suite, cast, chain):  # noqa: F811
    job, start = _running(cli, listed_gpu, suite, cast)
    nonce = chain.provider.get_nonce(cast.renter.address)
    for args, text in ((("--hours", "1", "--minutes", "5"), "--hours N or --minutes N (one of them)"),
                       ((), "--hours N or --minutes N (one of them)"),
                       (("--hours", "0.0001"), "0.0001 is 0.36 s: give a whole number of seconds"),
                       (("--minutes", "0.5001"), "is 30.006 s: give a whole number of seconds"),
                       (("--hours", "0"), "must be above 0"),
                       (("--hours", "-1"), "is not a number of hours")):
        result = cli("--account", RENTER, "jobs", "extend", job["id"], *args, "--yes", code=2)
        assert_one_line_error(result, text)
    result = cli("--account", OUTSIDER, "jobs", "extend", job["id"], "--hours", "1", "--yes", code=1)
    assert_one_line_error(result, f"may not extend job {job['id'][:10]}…")
    result = cli("--account", OUTSIDER, "jobs", "extend", job["id"], "--hours", "1", code=1)  # refused before asking
    assert_one_line_error(result, f"may not extend job {job['id'][:10]}…")
    result = cli("--account", RENTER, "jobs", "extend", job["id"], "--hours", "2160", "--yes", code=1)
    assert_one_line_error(result, f"cannot extend job {job['id'][:10]}… by 7776000 s: it can be extended by 1 s to")
    chain.pending_timestamp = start + 3600
    result = cli("--account", RENTER, "jobs", "extend", job["id"], "--hours", "1", "--yes", code=1)
    assert_one_line_error(result, f"cannot extend job {job['id'][:10]}…: its booked time ended at timestamp "
                                  f"{start + 3600}")
    assert chain.provider.get_nonce(cast.renter.address) == nonce  # every one refused before anything was sent
    cli("--account", RENTER, "jobs", "complete", job["id"])
    result = cli("--account", RENTER, "jobs", "extend", job["id"], "--hours", "1", "--yes", code=1)
    assert_one_line_error(result, f"cannot extend job {job['id'][:10]}…: it is Completed")


def test_show_says_the_time_left_and_the_cost_so_far(cli, listed_gpu, suite, cast, chain):  # noqa: F811
    job, start = _running(cli, listed_gpu, suite, cast)
    chain.pending_timestamp = start + 2700
    chain.mine()
    shown = cli("--json", "jobs", "show", job["id"])
    left = shown["seconds_left"]
    assert 890 <= left <= 900 and shown["time_left"] == f"{left // 60} min of 1 h booked"
    # what settling now would pay, at the same chain time, to the base unit
    cost = to_tokens((3600 - left) * 10 * TOKEN // 3600)
    assert Decimal(shown["cost_so_far"]) == cost and Decimal(shown["can_still_cost"]) == 10 - cost
    assert f"(in {left // 60} min)" in shown["booked_end"]
    plain = cli("jobs", "show", job["id"])
    assert "gpurent jobs extend" not in plain.stderr  # 15 min (25%) left: no warning


def test_show_warns_when_a_running_job_is_low_on_time(cli, listed_gpu, suite, cast, chain):  # noqa: F811
    job, start = _running(cli, listed_gpu, suite, cast)
    chain.pending_timestamp = start + 3600 - 300
    chain.mine()
    plain = cli("jobs", "show", job["id"])
    warning = [line for line in plain.stderr.splitlines() if "gpurent jobs extend" in line]
    assert len(warning) == 1 and "of its booked time left" in warning[0], plain.stderr
    assert f"gpurent jobs extend {job['id']} --hours N" in warning[0]
    assert re.search(r"time_left +[45] min of 1 h booked", plain.stdout)  # the data itself stays on stdout
    cli("--account", RENTER, "jobs", "extend", job["id"], "--hours", "1", "--yes")
    assert "gpurent jobs extend" not in cli("jobs", "show", job["id"]).stderr  # an hour more: no warning
