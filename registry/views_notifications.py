"""A user's own notifications: the list (unread first), mark one read, mark all read.

Notifications belong to one user; every query starts from ``own_notifications``, so another user's
notification answers 404 exactly as if it did not exist.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.db.models import Case, IntegerField, Value, When
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST
from django.views.generic import ListView

from .models import Notification


def own_notifications(user):
    return Notification.objects.filter(user=user)


def _safe_next(request, default: str) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return default


class NotificationListView(LoginRequiredMixin, ListView):
    template_name = "notifications/notification_list.html"
    context_object_name = "notifications"
    paginate_by = 25

    def get_queryset(self):
        unread_first = Case(When(read_at__isnull=True, then=Value(0)), default=Value(1), output_field=IntegerField())
        return (own_notifications(self.request.user)
                .only("id", "kind", "title", "body", "url", "created_at", "read_at")
                .order_by(unread_first, "-created_at", "-id"))

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        # The bell's count (context processor) already says how many are unread; no second query.
        context["query_without_page"] = ""
        return context


@login_required
@require_POST
def notification_read(request, pk):
    """Mark one notification read; with ``next`` (e.g. the page it is about), go there afterwards."""
    notification = get_object_or_404(own_notifications(request.user), pk=pk)
    own_notifications(request.user).filter(pk=notification.pk, read_at__isnull=True).update(read_at=timezone.now())
    return redirect(_safe_next(request, reverse("notifications:list")))


@login_required
@require_POST
def notification_read_all(request):
    count = own_notifications(request.user).filter(read_at__isnull=True).update(read_at=timezone.now())
    if count:
        messages.success(request, ngettext("%(count)d notification marked as read.",
                                           "%(count)d notifications marked as read.", count) % {"count": count})
    return redirect(_safe_next(request, reverse("notifications:list")))
