"""Step 6, serving: the champion behind an HTTP API, and batch scoring."""
