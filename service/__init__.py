"""The scoring runtime: REST API, persistence, keys, the trust-check page, batch scoring."""
