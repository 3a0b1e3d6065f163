"""Stage 3, code: the code links of each paper and the facts of their GitHub repositories."""
