"""The pipeline stages, each a short recipe that writes each of its outputs in one place."""
