"""The kinds of the gateway's audit events, shared by the gateway and the ``arenahub audit`` CLI (no imports)."""

AUDIT_KINDS = ("submission", "score", "policy", "quota-refused", "quota-stop", "admin", "retention")
