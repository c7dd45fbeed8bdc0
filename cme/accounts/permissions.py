"""Role checks for views: logged out -> log in; wrong role -> 403."""
from __future__ import annotations

from functools import wraps
from typing import Callable

from flask import abort
from flask_login import current_user, login_required

from cme.accounts.models import Role


def role_required(*roles: Role) -> Callable:
    """Allow users with one of `roles`; admins are always allowed."""
    allowed = {Role.ADMIN, *roles}

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role not in allowed:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


organizer_required = role_required(Role.ORGANIZER)
admin_required = role_required(Role.ADMIN)
