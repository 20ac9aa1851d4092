from django import template

register = template.Library()


@register.filter
def get_item(mapping, key):
    """``{{ mapping|get_item:key }}`` for dicts keyed by something other than a plain name."""
    return mapping.get(key) if hasattr(mapping, "get") else None
