from rest_framework.filters import OrderingFilter


class FilterSetOrderingFilter(OrderingFilter):
    """``?ordering=`` with the same public names as the HTML lists (the FilterSet's OrderingFilter),
    so cursor pagination pages in the order the caller asked for."""

    def get_ordering(self, request, queryset, view):
        filterset_class = getattr(view, "filterset_class", None)
        param = request.query_params.get(self.ordering_param, "")
        ordering_filter = filterset_class.base_filters.get("ordering") if filterset_class else None
        if param and ordering_filter is not None:
            mapped = []
            for term in param.split(","):
                name = term.strip().lstrip("-")
                if name in ordering_filter.param_map:
                    mapped.append(("-" if term.strip().startswith("-") else "") + ordering_filter.param_map[name])
            if mapped:
                # Ties go by id in the direction of the last key, so that one index in one direction holds
                # the whole order (persons by name: (station, pinyin, person) read forwards or backwards; a
                # tie the other way made PostgreSQL sort a station's every match, 209 ms instead of 5).
                return [*mapped, "-id" if mapped[-1].startswith("-") else "id"]
        return ["-id"]

    def get_schema_operation_parameters(self, view):
        return []
