"""The paper-smoke profile's stand-ins: a fixture mirror of every dataset in its upstream
format and a tiny XLM-R-shaped model in a local Hugging Face cache (:mod:`tests.smoke.build`)."""
