"""What a job definition asks of this provider, checked before anything is promised.

``refusal`` says why a definition is declined (network not offered, secrets sealed to another
provider or to a key this agent does not hold, a sealed value that does not open for this job's
renter and name): the renter is refunded in full. ``open_secrets`` opens the sealed values for
the container's create call only; the values live in that call's arguments and nowhere else
(never the agent's database, its log, the job's record or IPFS). ``workload`` turns the
definition, its fetched inputs and the output folder into the container's process,
environment and binds.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from gpurent.agent.config import Limits
from gpurent.agent.keys import ProviderKeys
from gpurent.agent.runtime import Bind, Workload
from gpurent.workload.seal import SealError, open_secret
from gpurent.workload.spec import JobSpec


def open_secrets(spec: JobSpec, keys: ProviderKeys, provider: str, renter: str) -> tuple[tuple[str, str], ...]:
    """The secrets' values as (NAME, value); SealError naming the first that does not open for
    this provider's key, this renter and its own name."""
    if spec.secrets is None:
        return ()
    if spec.secrets.provider != provider.lower():
        raise SealError("secrets are sealed to another provider")
    keypair = keys.for_public(spec.secrets.key)
    if keypair is None:
        raise SealError("secrets are sealed to a key this provider does not hold")
    return tuple((name, open_secret(keypair, sealed, name, renter)) for name, sealed in spec.secrets.sealed.items())


def refusal(spec: JobSpec, limits: Limits, keys: ProviderKeys, provider: str, renter: str,
            public_ports: bool = True) -> str | None:
    """Why this provider declines ``spec`` (one line), or None. Opens the secrets to check them
    and drops the values at once."""
    if spec.network and not limits.network:
        return "the definition asks for network access, which this provider does not offer"
    public = [p.port for p in spec.ports if p.public]
    if public and not public_ports:
        return f"the definition marks port {public[0]} public, and this provider serves no public ports"
    try:
        open_secrets(spec, keys, provider, renter)
    except SealError as err:
        return str(err)
    return None


def workload(spec: JobSpec, inputs: Mapping[str, Path], output: Path | None,
             secrets: tuple[tuple[str, str], ...] = ()) -> Workload:
    """The container's part of ``spec``: ``inputs`` maps each input CID to its host path."""
    binds = tuple(Bind(inputs[m.cid], m.path) for m in spec.inputs)
    if spec.output is not None and output is not None:
        binds += (Bind(output, spec.output, writable=True),)
    return Workload(entrypoint=spec.entrypoint, command=spec.command,
                    env=(*sorted(spec.env.items()), *secrets), binds=binds)
