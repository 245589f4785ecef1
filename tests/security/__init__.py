"""Security checks (issue 8, section 3): markup injection, response size limits, secrets, local-only servers."""
