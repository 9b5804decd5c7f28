"""Experience points and levels: a ledger of entries, one per source, moved by the hooks."""
