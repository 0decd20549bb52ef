"""The execution engine: `advance` (one idempotent step), its pure decision, and its ports."""
