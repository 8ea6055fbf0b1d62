"""Step 3, data processing: synthetic batches, contract validation, and the ingestion flow."""
