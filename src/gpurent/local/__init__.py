"""The local stack on this machine: detached processes (Anvil, Kubo, podman, the indexer, the
oracle, a provider agent) recorded and logged under the state folder, started and stopped
together by ``gpurent up | down`` and one at a time by ``gpurent <service> up | down``.
"""
