"""gatewatch.ingest.sources."""
