"""Stage 1, reading: digest posts (rendered text or markdown) into `Digest` records."""
