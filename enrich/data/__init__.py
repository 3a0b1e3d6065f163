"""Data files shipped with the package (the protected-terms list)."""
