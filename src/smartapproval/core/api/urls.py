from django.urls import path

from smartapproval.core.api import calendar, codes

urlpatterns = [
    path(
        "calendar/deadline",
        calendar.CalendarDeadlineView.as_view(),
        name="calendar-deadline",
    ),
    path("calendar/days", calendar.CalendarDaysView.as_view(), name="calendar-days"),
    path("codes/check", codes.CodeCheckView.as_view(), name="codes-check"),
]
