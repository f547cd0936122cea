"""Several ``run --shard i/n`` processes on one state store (docs/scaling.md)."""
