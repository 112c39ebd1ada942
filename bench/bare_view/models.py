"""A table only the HTTP benchmark writes to."""

from django.db import models


class BareRow(models.Model):
    """One row per bare-view request."""

    created_at = models.DateTimeField(auto_now_add=True)
    note = models.CharField(max_length=100, blank=True)

    def __str__(self) -> str:
        return f"bare row {self.pk}"
