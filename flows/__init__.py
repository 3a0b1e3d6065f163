"""Prefect orchestration and the command line of digest-enrich; the only code importing Prefect."""
