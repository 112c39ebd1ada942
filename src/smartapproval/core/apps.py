from axes.apps import AppConfig as AxesAppConfig
from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _
from django_tasks_db.apps import TasksAppConfig


class CoreConfig(AppConfig):
    name = "smartapproval.core"
    label = "core"
    verbose_name = _("Common base")


# Third-party apps whose names the admin index shows, named in the UI's
# language: axes has no Chinese catalogue, and django_tasks_db's name is a
# plain English string.
class LoginProtectionConfig(AxesAppConfig):
    verbose_name = _("Login protection")


class TaskResultsConfig(TasksAppConfig):
    verbose_name = _("Background tasks")
