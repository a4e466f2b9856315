"""Helpers shared by the integration tiers: real hubs, kernels, free ports."""
