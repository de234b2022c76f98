"""What is written to disk and how: atomic writes, run directories, per-row tables, run
claims, provenance, and stored evaluations."""
