"""Text shared by every stage: normalising, arXiv identifiers, author names, TeX (pure)."""
