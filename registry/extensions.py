"""Extension points: how the kernel, or an app low in the order, learns what only an app above it knows.

The layers run ``registry`` (the kernel) -> ``persons`` -> ``housing`` -> ``patrol`` -> ``portal`` ->
``workspace``, and no module imports one above it (``lint-imports`` checks). Where code low down needs
something only a higher app knows (a landlord's scope, a person's residences on the person page, a
property's stars), it calls an extension point that it defines, and the app above registers a function
there in its ``AppConfig.ready``. (NetBox keeps its registry of such things in ``netbox/netbox/registry.py``.)
"""

from collections import defaultdict
from collections.abc import Callable


class ExtensionPoint:
    """Functions registered under a key (a model label, a role...), returned in the order of registration
    unless an ``order`` says otherwise (lower first)."""

    def __init__(self, name: str):
        self.name = name
        self._entries: dict[object, list[tuple[int, int, Callable]]] = defaultdict(list)
        self._count = 0

    def register(self, key, func: Callable | None = None, *, order: int = 0):
        """Register ``func`` under ``key``; usable as a decorator (``@point.register(key)``)."""

        def add(function: Callable) -> Callable:
            entries = self._entries[key]
            if not any(existing is function for _order, _n, existing in entries):
                self._count += 1
                entries.append((order, self._count, function))
                entries.sort(key=lambda entry: entry[:2])
            return function

        return add(func) if func is not None else add

    def unregister(self, key, func: Callable) -> None:
        self._entries[key] = [entry for entry in self._entries[key] if entry[2] is not func]

    def __call__(self, key) -> list[Callable]:
        """The functions registered under ``key``, in order."""
        return [function for _order, _n, function in self._entries.get(key, ())]

    def entries(self) -> list[tuple[object, Callable]]:
        """Every ``(key, function)``, whatever the key, in order."""
        found = [(entry, key) for key, entries in self._entries.items() for entry in entries]
        return [(key, entry[2]) for entry, key in sorted(found, key=lambda item: item[0][:2])]

    def first(self, key) -> Callable | None:
        functions = self(key)
        return functions[0] if functions else None

    def __repr__(self):
        return f"<ExtensionPoint {self.name}: {sum(map(len, self._entries.values()))} functions>"


class Provided:
    """One function a lower layer calls and an app above provides (``provide``), with a default until then."""

    def __init__(self, name: str, default: Callable):
        self.name = name
        self.default = default
        self._function: Callable | None = None

    def provide(self, function: Callable) -> Callable:
        self._function = function
        return function

    def __call__(self, *args, **kwargs):
        return (self._function or self.default)(*args, **kwargs)

    def __repr__(self):
        return f"<Provided {self.name}: {'provided' if self._function else 'default'}>"
