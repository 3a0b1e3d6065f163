"""Stage 4, rendering: the output records and files (papers.jsonl, .bib, CSL-JSON, views)."""
