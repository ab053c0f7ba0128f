"""Ingest: read inputs, frame records, normalize them, write batches to the store."""
