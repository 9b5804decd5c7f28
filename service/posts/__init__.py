"""Posts: short texts with an optional activity attached (issue 10 §3)."""
