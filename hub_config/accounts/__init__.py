"""Hub accounts: self sign-up, approval by an organiser, bcrypt passwords (ArenaAuthenticator)."""

from .authenticator import ArenaAuthenticator

__all__ = ["ArenaAuthenticator"]
