"""A renter whose provider went silent: `jobs show` says what it can do and when, and `jobs
cancel` before its time says when, in one line, with nothing sent (real Anvil)."""

from __future__ import annotations

from tests.cli.test_cli import CID, RENTER, assert_one_line_error, cli, listed_gpu  # noqa: F401 - fixtures


def test_an_accepted_job_the_provider_never_starts(cli, listed_gpu, suite, cast, chain):  # noqa: F811
    job = cli("--json", "--account", RENTER, "jobs", "create", "--gpu", listed_gpu, "--image", CID,
              "--hours", "1", "--yes")
    accepted = suite.marketplace.acceptJob(job["id"], sender=cast.provider).timestamp
    shown = cli("--json", "jobs", "show", job["id"])
    assert shown["next"].startswith("the provider has not started it; you can cancel from ")
    assert "(in 59 min)" in shown["next"] or "(in 1 h)" in shown["next"]

    nonce = chain.provider.get_nonce(cast.renter.address)
    result = cli("--account", RENTER, "jobs", "cancel", job["id"], code=1)
    assert_one_line_error(result, f"cannot cancel job {job['id'][:10]}… yet: the provider has not started it; "
                                  "you can cancel from ")
    assert "Traceback" not in result.stdout and "revert" not in result.stdout.lower()
    assert chain.provider.get_nonce(cast.renter.address) == nonce  # refused before anything was sent

    chain.pending_timestamp = accepted + 3600  # the job's start timeout
    assert "you can cancel now" in cli("--json", "jobs", "show", job["id"])["next"]
    assert cli("--json", "--account", RENTER, "jobs", "cancel", job["id"])["status"] == "Cancelled"
    assert cli("--json", "jobs", "show", job["id"])["next"].startswith("cancelled at ")


def test_a_running_job_says_until_when_it_can_be_disputed(cli, listed_gpu, suite, cast, chain):  # noqa: F811
    job = cli("--json", "--account", RENTER, "jobs", "create", "--gpu", listed_gpu, "--image", CID,
              "--hours", "1", "--yes")
    suite.marketplace.acceptJob(job["id"], sender=cast.provider)
    suite.marketplace.startJob(job["id"], sender=cast.provider)
    shown = cli("--json", "jobs", "show", job["id"])["next"]
    assert "you can complete it now (billing stops)" in shown
    assert "you can dispute it until " in shown
    assert "(in 1 h 15 min)" in shown or "(in 1 h 14 min)" in shown  # its booked hour plus the 15 min grace
