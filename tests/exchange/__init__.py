"""The exchange: release policy, disclosure ledger and sync between real nodes."""
