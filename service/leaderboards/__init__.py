"""Leaderboards: periods, score buckets, aggregation pipelines and the public boards."""

from service.leaderboards import embedded

# The boards aggregate tens of thousands of buckets; the embedded store needs these fixes for
# that (a no-op with a real MongoDB). TODO(lead): move this call into service/db.py.
embedded.install()
