"""Public calendar endpoints: a deadline in working days, and the days."""

import datetime
import re

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from smartapproval.core import deadlines
from smartapproval.core.api import validated
from smartapproval.core.calendar import (
    FIRST_YEAR,
    LAST_YEAR,
    CalendarRangeError,
    DayInfo,
    calendar_days_between,
    calendar_snapshot,
)

# The messages below name these numbers; change them together.
MAX_WORKING_DAYS = 1000
MAX_RANGE_DAYS = 366


# A month 01-12 and a day 01-31: the shape of a date in some month.
_ISO_DATE = re.compile(r"\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])")


class IsoDateField(serializers.DateField):
    """A YYYY-MM-DD date that tells a wrong format from a day that never was.

    "2026-02-30" has the right shape and a day some month has, so asking for
    the format again would send the user looking for a typo that is not
    there; "2026-13-01" keeps the format message.
    """

    def __init__(self, format_message, **kwargs):
        super().__init__(
            input_formats=["%Y-%m-%d"],
            error_messages={
                "required": format_message,
                "invalid": format_message,
                "null": format_message,
            },
            **kwargs,
        )

    def to_internal_value(self, value):
        if isinstance(value, str) and _ISO_DATE.fullmatch(value):
            try:
                return datetime.date.fromisoformat(value)
            except ValueError:
                raise serializers.ValidationError(
                    _("%(value)s is not a valid date.") % {"value": value},
                    code="invalid_date",
                ) from None
        return super().to_internal_value(value)


def _date_field(message) -> serializers.DateField:
    return IsoDateField(message)


def _check_year(day: datetime.date) -> datetime.date:
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise serializers.ValidationError(CalendarRangeError(day.isoformat()).message)
    return day


class DeadlineQuerySerializer(serializers.Serializer):
    start = _date_field(gettext_lazy("Give the start date as YYYY-MM-DD."))
    working_days = serializers.IntegerField(
        min_value=0,
        max_value=MAX_WORKING_DAYS,
        error_messages={
            key: gettext_lazy("Give the working days as a whole number from 0 to 1000.")
            for key in ("required", "invalid", "min_value", "max_value", "null")
        },
    )

    def validate_start(self, value: datetime.date) -> datetime.date:
        return _check_year(value)


class SkippedDaySerializer(serializers.Serializer):
    date = serializers.DateField()
    reason = serializers.CharField()


class DeadlineSerializer(serializers.Serializer):
    start = serializers.DateField()
    working_days = serializers.IntegerField(source="value")
    deadline = serializers.DateField(source="due")
    provisional = serializers.BooleanField(
        help_text="Some day used comes from the statutory rules, not a schedule."
    )
    provisional_years = serializers.ListField(child=serializers.IntegerField())
    counted = serializers.ListField(child=serializers.DateField())
    skipped = SkippedDaySerializer(many=True)


class DaysQuerySerializer(serializers.Serializer):
    def get_fields(self):
        # "from" is a Python keyword, so the fields are declared here.
        return {
            "from": _date_field(
                gettext_lazy("Give the first date (from) as YYYY-MM-DD.")
            ),
            "to": _date_field(gettext_lazy("Give the last date (to) as YYYY-MM-DD.")),
        }

    def validate_from(self, value: datetime.date) -> datetime.date:
        return _check_year(value)

    def validate_to(self, value: datetime.date) -> datetime.date:
        return _check_year(value)

    def validate(self, attrs: dict) -> dict:
        first, last = attrs["from"], attrs["to"]
        if last < first:
            raise serializers.ValidationError(
                {"to": _("The last date (to) is before the first date (from).")}
            )
        if (last - first).days + 1 > MAX_RANGE_DAYS:
            raise serializers.ValidationError(
                {
                    "to": _("Ask for at most %(max)s days at a time.")
                    % {"max": MAX_RANGE_DAYS}
                }
            )
        return attrs


class DaySerializer(serializers.Serializer):
    date = serializers.DateField()
    weekday = serializers.SerializerMethodField(
        help_text="ISO weekday: 1 is Monday, 7 is Sunday."
    )
    is_workday = serializers.BooleanField()
    kind = serializers.CharField(
        help_text="workday, weekend, holiday or adjusted_workday."
    )
    name = serializers.CharField(help_text="The holiday's name in Chinese, or ''.")
    source = serializers.CharField(
        help_text="chinesecalendar, official, admin, or statutory (computed)."
    )
    provisional = serializers.BooleanField()

    def get_weekday(self, info: DayInfo) -> int:
        return info.date.isoweekday()


class CalendarDeadlineView(APIView):
    """Compute the deadline N working days after a start date."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(
        operation_id="calendar_deadline",
        tags=["calendar"],
        summary="Deadline N working days after a date",
        description=(
            "The start day is not counted; 0 working days gives the start day "
            "(即办件). Years without an official schedule are computed from "
            "the statutory holidays and marked provisional."
        ),
        parameters=[
            OpenApiParameter(
                "start",
                OpenApiTypes.DATE,
                OpenApiParameter.QUERY,
                required=True,
                description="The day the limit starts from (YYYY-MM-DD).",
            ),
            OpenApiParameter(
                "working_days",
                OpenApiTypes.INT,
                OpenApiParameter.QUERY,
                required=True,
                description=f"Working days, 0 to {MAX_WORKING_DAYS}.",
            ),
        ],
        responses=DeadlineSerializer,
    )
    def get(self, request):
        query = DeadlineQuerySerializer(data=request.query_params)
        validated(query)

        try:
            with calendar_snapshot():
                deadline = deadlines.add_working_days(
                    query.validated_data["start"],
                    query.validated_data["working_days"],
                )
                data = DeadlineSerializer(deadline).data
        except CalendarRangeError as exc:
            exc.field = "working_days"
            raise

        return Response(data)


class CalendarDaysView(APIView):
    """List the days of a date range: working or not, and why."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(
        operation_id="calendar_days",
        tags=["calendar"],
        summary="Calendar days in a range",
        description=f"Both ends included; at most {MAX_RANGE_DAYS} days.",
        parameters=[
            OpenApiParameter(
                "from",
                OpenApiTypes.DATE,
                OpenApiParameter.QUERY,
                required=True,
                description="First day (YYYY-MM-DD).",
            ),
            OpenApiParameter(
                "to",
                OpenApiTypes.DATE,
                OpenApiParameter.QUERY,
                required=True,
                description="Last day (YYYY-MM-DD).",
            ),
        ],
        responses=DaySerializer(many=True),
    )
    def get(self, request):
        query = DaysQuerySerializer(data=request.query_params)
        validated(query)

        days = calendar_days_between(
            query.validated_data["from"], query.validated_data["to"]
        )

        return Response(DaySerializer(days, many=True).data)
