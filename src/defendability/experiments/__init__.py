"""experiments: sweep configurations, the results store, runners and reports."""
