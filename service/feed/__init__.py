"""The feed (issue 10 §4): `feed_items` rows written by hook listeners, read fan-in by author."""
