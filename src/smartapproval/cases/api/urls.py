from django.urls import path

from smartapproval.cases.api import views

app_name = "cases-api"
urlpatterns = [
    path("cases/", views.CaseListCreateView.as_view(), name="case-list"),
    path("cases/<str:number>/", views.CaseDetailView.as_view(), name="case-detail"),
    path(
        "cases/<str:number>/materials/",
        views.CaseMaterialUploadView.as_view(),
        name="case-materials",
    ),
    *[
        path(
            f"cases/<str:number>/{verb}/",
            views.action_view(verb),
            name=f"case-{verb.replace('_', '-')}",
        )
        for verb in views.ACTIONS
    ],
    path(
        "materials/<int:pk>/download",
        views.MaterialDownloadView.as_view(),
        name="material-download",
    ),
    path("licences/", views.LicenceListView.as_view(), name="licence-list"),
    path("tasks/", views.TaskInboxView.as_view(), name="task-list"),
    path("tasks/<int:pk>/", views.TaskDetailView.as_view(), name="task-detail"),
    path(
        "tasks/<int:pk>/complete/",
        views.TaskCompleteView.as_view(),
        name="task-complete",
    ),
    *[
        path(
            f"tasks/<int:pk>/{verb}/",
            views.task_verb_view(verb),
            name=f"task-{verb.replace('_', '-')}",
        )
        for verb in views.TASK_VERBS
    ],
    path(
        "tasks/<int:pk>/verify/",
        views.TaskVerifyView.as_view(),
        name="task-verify",
    ),
]
