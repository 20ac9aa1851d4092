from django.apps import AppConfig


class BenchConfig(AppConfig):
    name = "bench"
    verbose_name = "Benchmarks (baselines only)"
    default_auto_field = "django.db.models.BigAutoField"
