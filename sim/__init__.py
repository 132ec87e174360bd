"""The adversary simulator: every single-adversary strategy played against the real contracts.

Each strategy (:mod:`sim.strategies`) is one adversary (a renter, a provider, the oracle's key or
the admin) against honest counterparts, on the deployed suite on Anvil. The simulator keeps the
ground truth itself (the seconds a container actually ran, which provider answered which
challenge, who held the image), rules disputes as an honest oracle would with the project's own
rule function (:func:`gpurent.oracle.evidence.decide`) on the evidence that oracle would have
observed, and checks after every run the bound the strategy must keep, in base units, exactly.

- :mod:`sim.world`: the chain (web3 on the Anvil Ape started), accounts, clock, snapshots.
- :mod:`sim.oracle`: the honest oracle's observations, evidence and rulings.
- :mod:`sim.agents`: honest providers and renters, and the money bounds.
- :mod:`sim.strategies`: the strategies, one module per adversary.
- :mod:`sim.runner`: seeds, runs, the table and the JSON summary.
"""

from sim.runner import Summary, run_all
from sim.world import World

__all__ = ["Summary", "World", "run_all"]
