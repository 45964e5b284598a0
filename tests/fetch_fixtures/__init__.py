"""Small release files in the exact upstream formats, one module per dataset, for the tests of
``harness fetch`` and its converters (no network). Each module defines ``build(release: Path)``
writing the files of the spec's ``fetch[].files`` under their names, and ``COUNTS``: the
example counts the converter must return for them."""
