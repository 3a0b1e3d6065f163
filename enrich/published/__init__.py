"""Stage 3b: the published version of a preprint (venue, year, publisher DOI) and its citation
count, from Semantic Scholar and, where it knows no venue, dblp."""
