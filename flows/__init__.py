"""Prefect orchestration and the command line for digest-enrich (the only place importing Prefect)."""
