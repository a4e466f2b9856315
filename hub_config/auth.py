"""ArenaAuthenticator: NativeAuthenticator (sign-up, admin approval, bcrypt) plus seeded users.

Seeded users (``seed_users``) are created approved, with hashed passwords, when the hub
starts; that is how the demo mode gives a newcomer an admin and a participant account.
"""

from __future__ import annotations

import bcrypt
from nativeauthenticator import NativeAuthenticator
from nativeauthenticator.orm import UserInfo
from traitlets import Dict


class ArenaAuthenticator(NativeAuthenticator):
    seed_users = Dict(
        help="""Users to create at start, {name: password}, already approved. Existing users
        keep their password. Meant for the demo mode; leave empty in production.""",
    ).tag(config=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.ensure_seed_users()

    def ensure_seed_users(self) -> None:
        """Create each seeded user that does not exist yet (safe to repeat)."""
        for name, password in self.seed_users.items():
            name = self.normalize_username(name)
            if UserInfo.find(self.db, name) is not None:
                continue
            hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt())
            self.db.add(UserInfo(username=name, password=hashed, is_authorized=True))
            self.db.commit()
            self.log.info("Seeded approved user %s", name)
