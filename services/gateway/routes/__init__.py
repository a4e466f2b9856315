"""HTTP routes of the gateway: jobs, their logs and metrics, datasets."""
