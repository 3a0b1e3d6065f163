"""Stage 2, resolving: each digest entry to its arXiv paper, or why it cannot be said."""
