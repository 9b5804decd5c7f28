"""Comments on posts, runs and workouts (issue 10 §3)."""
