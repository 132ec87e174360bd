"""The local stack on this machine: six services of one shape (:mod:`gpurent.local.service`),
each a detached process (:class:`gpurent.local.process.Managed`) recorded and logged under the
state folder: the chain (:mod:`~gpurent.local.devnet`), Kubo (:mod:`~gpurent.local.ipfs`), podman
(:mod:`~gpurent.local.engine`), the indexer (:mod:`~gpurent.local.indexer`), the oracle and a
provider agent (:mod:`~gpurent.local.daemons`); started and stopped together by ``gpurent up |
down`` (:mod:`~gpurent.local.stack`) and one at a time by ``gpurent <service> up | down``.
"""
