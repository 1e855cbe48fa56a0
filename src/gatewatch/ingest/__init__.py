"""gatewatch.ingest."""
