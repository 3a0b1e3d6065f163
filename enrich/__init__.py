"""digest-enrich core: parse arXiv digest posts and enrich them with arXiv, GitHub and BibTeX.

This package never imports Prefect; orchestration lives in `flows/`.
"""

__version__ = "0.1.0"
