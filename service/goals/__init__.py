"""Weekly goals (issue 9 §4)."""
