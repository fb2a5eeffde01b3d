"""The definition format: its models, the loader, and the tables derived from property types."""
