"""Shared base views: every list and detail page goes through the user's scope."""

from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.exceptions import PermissionDenied
from django.views.generic import DetailView, ListView

from .scoping import get_object_for_user, scope_for


class ScopedMixin(LoginRequiredMixin, PermissionRequiredMixin):
    """Narrows ``model``'s queryset to the user's scope; users with no scope get 403.

    ``permission_required`` defaults to the model's view permission, which portal roles lack
    for staff pages.
    """

    model = None

    def get_permission_required(self):
        if self.permission_required is None:
            return [f"{self.model._meta.app_label}.view_{self.model._meta.model_name}"]
        return super().get_permission_required()

    def handle_no_permission(self):
        if not self.request.user.is_authenticated:
            return super().handle_no_permission()
        raise PermissionDenied

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and scope_for(request.user).is_empty:
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_base_queryset(self):
        return self.model._default_manager.all()

    def get_queryset(self):
        return self.get_base_queryset().visible_to(self.request.user)


class ScopedListView(ScopedMixin, ListView):
    paginate_by = 25
    filterset_class = None

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.filterset_class is not None:
            self.filterset = self.filterset_class(self.request.GET or None, queryset=queryset,
                                                  request=self.request)
            queryset = self.filterset.qs
        return queryset

    def get_paginate_by(self, queryset):
        try:
            size = int(self.request.GET.get("per_page", self.paginate_by))
        except ValueError:
            return self.paginate_by
        return max(1, min(size, 100))

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["filterset"] = getattr(self, "filterset", None)
        query = self.request.GET.copy()
        query.pop("page", None)
        context["query_without_page"] = query.urlencode()
        return context

    def get_template_names(self):
        names = super().get_template_names()
        if getattr(self.request, "htmx", False):
            return [name.replace(".html", "_rows.html") for name in names] + names
        return names


class ScopedDetailView(ScopedMixin, DetailView):
    def get_object(self, queryset=None):
        return get_object_for_user(self.get_base_queryset(), self.request.user, pk=self.kwargs["pk"])
