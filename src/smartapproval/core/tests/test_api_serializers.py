"""Model serializers that build their fields once per class and language."""

from unittest import mock

from django.utils import translation
from rest_framework import serializers

from smartapproval.core.api import FieldsBuiltOnce
from smartapproval.core.models import CalendarDay


class DaySerializer(FieldsBuiltOnce, serializers.ModelSerializer):
    class Meta:
        model = CalendarDay
        fields = ["date", "kind", "is_workday"]


def test_fields_are_built_once_per_language_and_copied_for_each_instance():
    build = mock.patch.object(
        serializers.ModelSerializer,
        "get_fields",
        autospec=True,
        side_effect=serializers.ModelSerializer.get_fields,
    )
    FieldsBuiltOnce._built.clear()
    with build as built, translation.override("zh-hans"):
        one, two, three = DaySerializer(), DaySerializer(), DaySerializer()
        labels = [str(s.fields["is_workday"].label) for s in (one, two, three)]
    with translation.override("en"):
        english = str(DaySerializer().fields["is_workday"].label)

    assert built.call_count == 1
    assert labels == ["工作日"] * 3
    assert english == "Working day"
    # Each instance binds its own copies: the parent is never shared.
    assert one.fields["kind"] is not two.fields["kind"]
    assert (one.fields["kind"].parent, two.fields["kind"].parent) == (one, two)
