"""Leaderboards: periods, score buckets, aggregation pipelines and the public boards."""
