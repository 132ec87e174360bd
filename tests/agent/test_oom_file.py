"""podman's conmon writes an ``oom`` file into its working directory whenever a container is
OOM-killed: the engine service runs in its own folder, so it lands there, never in the folder
the provider (or the test run) started from. For real: the session's podman service, an agent
job that outgrows its memory."""

from __future__ import annotations

from pathlib import Path

OOM = "oom"


def test_an_oom_killed_job_leaves_no_oom_file_in_the_working_directory(start_agent, push_image,
                                                                         renter2_rent, engine_host):
    stray = Path.cwd() / OOM
    if stray.is_file() and stray.stat().st_size == 0:
        stray.unlink()  # conmon's, from a run before this fix (O_CREAT alone would not change it)
    service_folder = Path(engine_host.removeprefix("unix://")).parent
    (service_folder / OOM).unlink(missing_ok=True)
    runner = start_agent()
    # the job's memory is 1 GiB (tests.agents' spec), no swap: busybox tail holds all it reads
    cid = push_image("/bin/busybox head -c 1500000000 /dev/zero | /bin/busybox tail", "gpurent-test/oom:1")
    job = renter2_rent.create_job(runner.gpu, cid, 3600).value
    record = runner.wait_phase(job.job_id, "completed", "failed", timeout_s=180)
    assert record.phase == "completed" and record.exit_code != 0, record
    assert (service_folder / OOM).exists(), "conmon wrote no oom file where the engine runs: was the job OOM-killed?"
    assert not stray.exists(), f"conmon's {OOM} file landed in {Path.cwd()}"
