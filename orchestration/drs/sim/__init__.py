"""The DRS simulator's parts; `orchestration.drs.simulator` is its front door."""
