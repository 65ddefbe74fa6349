"""swarmctl's runtime reconciler: what Swarm does not do by itself (manager quorum repair, rebalancing
after failures, stuck work), run on every manager with only the Raft leader acting."""

__version__ = "0.1.0"
