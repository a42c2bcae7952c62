"""The bell: the list of a user's notifications, marking one or all read."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from directory.extensions import db
from directory.notifications import services as notifications
from directory.notifications.models import Notification
from directory.pagination import page_number
from directory.redirects import safe_next

bp = Blueprint("notifications", __name__)
PER_PAGE = 30


@bp.route("/notifications")
@login_required
def index():
    page = db.paginate(
        notifications.user_notifications(current_user), page=page_number(), per_page=PER_PAGE, error_out=False
    )
    return render_template("notifications/index.html", page=page, unread=notifications.unread_count(current_user))


@bp.post("/notifications/<int:notification_id>/read")
@login_required
def read(notification_id: int):
    """Mark one read; with ``next`` (the notification's link) go there."""
    note = db.session.get(Notification, notification_id)
    if note is None or note.user_id != current_user.id:
        abort(404)
    notifications.mark_read(note)
    return redirect(safe_next(request.form.get("next"), url_for("notifications.index")))


@bp.post("/notifications/read-all")
@login_required
def read_all():
    notifications.mark_all_read(current_user)
    return redirect(url_for("notifications.index"))


@bp.app_context_processor
def bell():
    def unread_notifications() -> int:
        if not getattr(current_user, "is_authenticated", False):
            return 0
        return notifications.unread_count(current_user)

    return {"unread_notifications": unread_notifications}
