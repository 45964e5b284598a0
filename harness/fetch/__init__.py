"""Data acquisition (``harness fetch``): official release files at stored digests, converted
into the layout the task specs read, pinned with DVC one dataset folder at a time."""
