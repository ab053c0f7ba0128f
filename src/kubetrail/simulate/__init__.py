"""Simulated telemetry: a seeded model of a living cluster, and writers that emit what each real
producer would have written about it (`cluster.build_cluster`, `audit.write_audit_log`)."""
