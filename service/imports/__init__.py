"""Activity files (GPX, TCX, FIT, optionally gzip-compressed) turned into runs."""
