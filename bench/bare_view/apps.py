from django.apps import AppConfig


class BareViewConfig(AppConfig):
    """The benchmark's baseline: a plain view that inserts one row."""

    name = "bench.bare_view"
    label = "bench_bare_view"
    default_auto_field = "django.db.models.BigAutoField"
