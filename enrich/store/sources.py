"""What Hugging Face Papers, Semantic Scholar and dblp said about each paper, by arXiv ID.

Namespaces `huggingface` (HfRecord), `semantic-scholar` (S2Record) and `dblp` (DblpRecord),
each record with the time it was read (`enrich.store.timed`): the pipeline asks a service only
about papers whose record is missing, a failure placeholder, or older than the TTL.
"""

from __future__ import annotations

from enrich.published.model import DblpRecord, S2Record
from enrich.repos.model import HfRecord
from enrich.store.db import StateStore
from enrich.store.timed import TimedRecords

HF_NAMESPACE = "huggingface"
S2_NAMESPACE = "semantic-scholar"
DBLP_NAMESPACE = "dblp"


def hf_store(db: StateStore) -> TimedRecords[HfRecord]:
    return TimedRecords(db, HF_NAMESPACE, HfRecord)


def s2_store(db: StateStore) -> TimedRecords[S2Record]:
    return TimedRecords(db, S2_NAMESPACE, S2Record)


def dblp_store(db: StateStore) -> TimedRecords[DblpRecord]:
    return TimedRecords(db, DBLP_NAMESPACE, DblpRecord)
