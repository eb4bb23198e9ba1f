"""Exchange with partners: TAXII 2.1 collections and server (later: ledger, sync agent)."""
