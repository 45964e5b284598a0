"""Task data: sources (Hub at a pinned revision, local files), readers of the release formats,
featurisation through the cache, batching, retrieval pools, multi-task mixing, the raw-data
snapshot, conversions (CCGbank) and the synthetic toy benchmark (:mod:`.toy`)."""
