"""Built-in infra fingerprints (YAML data files; ``fingerprints/infra`` in the tree links here)."""
