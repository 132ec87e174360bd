"""``gpurent-gateway``: the API gateway between browsers / integrators and gpurent (REST over
the index, wallet sign-in, the index's GraphQL), non-custodial: it never holds a user's key."""
