"""Shared base views: every list and detail page goes through the user's scope."""

import copy

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.shortcuts import redirect
from django.views.generic import CreateView, DetailView, ListView, UpdateView

from .db_router import ReplicaReadsMixin
from .extensions import ExtensionPoint
from .forms import add_service_error
from .scoping import get_object_for_user, scope_for
from .services import versioned_save

# model label -> ``function(user, obj) -> dict``: more of a record's page, from the apps above the model's
# (a person's residences, permits and visits; a property's inspections). Merged into the detail page's context.
detail_context = ExtensionPoint("detail page context")

# model label -> ``function(queryset) -> queryset``: columns of a list page that an app above the model's
# computes (an employer's dormitories), added to the list's one query.
list_annotations = ExtensionPoint("list page annotations")


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


class ScopedListView(ReplicaReadsMixin, ScopedMixin, ListView):
    """A list page; its GET may read from the replica (registry/db_router.py)."""

    paginate_by = 25
    filterset_class = None

    def get_queryset(self):
        queryset = super().get_queryset()
        for annotate in list_annotations(self.model._meta.label_lower):
            queryset = annotate(queryset)
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
        query = self.request.visible_query.copy()  # the address bar's: ?k=<key>, never a person's values
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

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        for provide in detail_context(self.model._meta.label_lower):
            context.update(provide(self.request.user, self.object))
        return context


class StaffPageMixin:
    """Pages for station staff, officers, supervisors and administrators.

    Landlords and employers hold some of the same view permissions for their own portal, so they are
    refused here by the kind of scope they have rather than by a permission.
    """

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            scope = scope_for(request.user)
            if not (scope.is_global or scope.station_ids):
                raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


class StaffFormMixin(StaffPageMixin, LoginRequiredMixin, PermissionRequiredMixin):
    """Create and edit pages: the model permission (supervisors and portal roles lack it: 403); forms get the
    user so that their choices stay inside the user's scope."""

    success_message = ""

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        kwargs["user"] = self.request.user
        return kwargs

    def get_success_message(self):
        return self.success_message % {"name": self.object}

    def saved(self):
        messages.success(self.request, self.get_success_message())
        return redirect(self.get_success_url())


class StaffCreateView(StaffFormMixin, CreateView):
    def form_valid(self, form):
        with transaction.atomic():
            self.object = form.save()
        return self.saved()


class StaffUpdateView(StaffFormMixin, UpdateView):
    """Edit with optimistic concurrency: the form posts the version it was loaded with; if someone saved in
    between, ``versioned_save`` refuses, the form shows why, and nothing is written."""

    def get_base_queryset(self):
        return self.model._default_manager.all()

    def get_object(self, queryset=None):
        return get_object_for_user(self.get_base_queryset(), self.request.user, pk=self.kwargs["pk"])

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        # The form works on a copy, so the page heading keeps the saved values while errors are shown.
        kwargs["instance"] = copy.copy(self.object)
        return kwargs

    def form_valid(self, form):
        try:
            versioned_save(form.instance, expected_version=form.cleaned_data["version"], fields=form.save_fields)
        except ValidationError as exc:
            add_service_error(form, exc)
            return self.form_invalid(form)
        self.object = form.instance
        return self.saved()
