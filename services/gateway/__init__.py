"""The job gateway: a hub-managed FastAPI service that queues, places, runs and follows jobs.

Import ``create_app`` from ``arenahub.gateway.app`` and settings from ``arenahub.gateway.settings``;
this package itself stays light because every sandbox supervisor process imports it too.
"""

from arenahub.core.gateway_roles import READ_ALL_SCOPE, SUBMIT_SCOPE, hub_roles

__all__ = ["READ_ALL_SCOPE", "SUBMIT_SCOPE", "hub_roles"]
