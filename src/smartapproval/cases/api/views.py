"""Cases API: thin views over the case services and selectors.

Errors answer as JSON in the user's language (Chinese by default) with the
field concerned; anything outside the reader's scope is a 404.
"""

from collections.abc import Callable
from typing import Any

from django.http import FileResponse
from django.utils.translation import gettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from smartapproval.accounts.models import Role
from smartapproval.cases import results, selectors, services
from smartapproval.cases.api import serializers as s
from smartapproval.cases.models import Case, CaseStatus, Task
from smartapproval.cases.uploads import MaterialUpload
from smartapproval.core.api import ServiceError, validated

ERRORS = {
    400: OpenApiResponse(s.ErrorSerializer, description="Invalid input"),
    403: OpenApiResponse(s.ErrorSerializer, description="Role may not act"),
    404: OpenApiResponse(s.ErrorSerializer, description="Not found or out of scope"),
    409: OpenApiResponse(s.ErrorSerializer, description="Status does not allow it"),
}
PARSERS = [JSONParser, MultiPartParser, FormParser]


def material_uploads(request) -> list[MaterialUpload]:
    """Read the files of a multipart request: ``material_<requirement id>``
    links a file to a material of the item; ``material`` links none."""
    uploads = []
    for key in request.FILES:
        if key in {"material", "materials"}:
            requirement_id = None
        elif key.startswith("material_") and key[len("material_") :].isdigit():
            requirement_id = int(key[len("material_") :])
        else:
            raise ServiceError(
                gettext("Unknown file part “%(name)s”.") % {"name": key},
                field=key,
                code="unknown_file_part",
            )
        uploads.extend(
            MaterialUpload(file=file, requirement_id=requirement_id)
            for file in request.FILES.getlist(key)
        )
    return uploads


def _detail(
    case: Case, request, serializer=s.CaseDetailSerializer, *, reload=True, **context
):
    """Shape the case as the reader may see it, read again after a change.

    The reload takes the item and department in the same query: the answer
    shows both, and ``refresh_from_db`` would drop them and read each alone.
    """
    if reload:
        case = Case.objects.select_related("item", "department").get(pk=case.pk)
    return serializer(case, context={"user": request.user, **context}).data


@extend_schema(tags=["cases"])
class CaseListCreateView(generics.GenericAPIView):
    serializer_class = s.CaseListSerializer
    parser_classes = PARSERS
    filter_backends: list = []

    @extend_schema(
        operation_id="cases_list",
        summary="Cases the user may see",
        parameters=[
            OpenApiParameter("status", str, enum=CaseStatus.values),
            OpenApiParameter("q", str, description="Number, item, applicant."),
        ],
    )
    def get(self, request):
        cases = selectors.case_list_for_user(
            user=request.user,
            status=request.query_params.get("status") or None,
            query=request.query_params.get("q"),
        )
        page = self.paginate_queryset(cases)
        return self.get_paginated_response(s.CaseListSerializer(page, many=True).data)

    @extend_schema(
        operation_id="cases_submit",
        summary="Submit an application (window clerks: register one)",
        description=(
            "An applicant submits online; a window clerk registers for an "
            "item of their department. The same Idempotency-Key from the same "
            "account returns the same case (200) instead of a new one (201)."
        ),
        parameters=[
            OpenApiParameter(
                "Idempotency-Key", str, OpenApiParameter.HEADER, required=False
            )
        ],
        request={
            "application/json": s.CaseSubmitSerializer,
            "multipart/form-data": s.CaseSubmitMultipartSerializer,
        },
        responses={
            201: s.SubmitResultSerializer,
            200: s.SubmitResultSerializer,
            **ERRORS,
        },
    )
    def post(self, request):
        form = s.CaseSubmitSerializer(data=request.data)
        validated(form)
        data = form.validated_data
        arguments = {
            "actor": request.user,
            "item": data["item"],
            "applicant": data["applicant"],
            "form_data": data["form_data"],
            "materials": material_uploads(request),
            "idempotency_key": request.headers.get("Idempotency-Key", ""),
            "notify_commit": data["notify_commit"],
        }
        if request.user.role == Role.CLERK:
            if data["licence_materials"]:
                # The holder chooses their own licences online; at the window
                # the clerk takes the documents themselves.
                raise ServiceError(
                    gettext(
                        "E-licences stand in for materials in online "
                        "applications only; at the window, hand in the files."
                    ),
                    field="licence_materials",
                    code="licence_online_only",
                )
            result = services.case_register(**arguments)
        else:
            result = services.case_submit(
                **arguments, licence_materials=data["licence_materials"]
            )

        body = _detail(
            result.case,
            request,
            s.SubmitResultSerializer,
            duplicate_warning=result.duplicate_warning,
            warnings=result.warnings,
        )
        code = status.HTTP_201_CREATED if result.created else status.HTTP_200_OK
        return Response(body, status=code)


@extend_schema(tags=["cases"])
class CaseDetailView(APIView):
    @extend_schema(
        operation_id="cases_retrieve",
        summary="One case with its materials, timeline and deadlines",
        responses={200: s.CaseDetailSerializer, 404: ERRORS[404]},
    )
    def get(self, request, number: str):
        case = selectors.case_get_for_user(user=request.user, number=number)
        # Just read, with its item and department: no second read.
        return Response(_detail(case, request, reload=False))


# verb → (input serializer, call(case, actor, data, request), summary)
ACTIONS: dict[str, tuple[type, Callable[..., Any], str]] = {
    "accept": (
        s.EmptySerializer,
        lambda case, actor, data, request: services.case_accept(case=case, actor=actor),
        "Accept: start the clock and the review route (受理)",
    ),
    "accept_conditionally": (
        s.ConditionalAcceptSerializer,
        lambda case, actor, data, request: services.case_accept_conditionally(
            case=case,
            actor=actor,
            deferred=data["deferred"],
            due_on=data.get("due_on"),
            working_days=data.get("working_days"),
            applicant_agreed=data["applicant_agreed"],
        ),
        "Accept with deferred materials on the applicant's promise (容缺受理)",
    ),
    "supply_deferred": (
        s.CorrectionSupplySerializer,
        lambda case, actor, data, request: services.case_supply_deferred(
            case=case,
            actor=actor,
            materials=material_uploads(request),
            note=data["note"],
        ),
        "Hand in deferred materials (补交容缺材料): parts material_<requirement id>",
    ),
    "refuse": (
        s.ReasonSerializer,
        lambda case, actor, data, request: services.case_refuse(
            case=case, actor=actor, reason=data["reason"]
        ),
        "Refuse to accept, with the reason (不予受理)",
    ),
    "request_correction": (
        s.CorrectionRequestSerializer,
        lambda case, actor, data, request: services.case_request_correction(
            case=case, actor=actor, items=data["items"], note=data["note"]
        ),
        "Ask for every missing material at once (补正)",
    ),
    "supply_correction": (
        s.CorrectionSupplySerializer,
        lambda case, actor, data, request: services.case_supply_correction(
            case=case,
            actor=actor,
            materials=material_uploads(request),
            note=data["note"],
        ),
        "Hand in the requested materials (applicant)",
    ),
    "suspend": (
        s.SuspendSerializer,
        lambda case, actor, data, request: services.case_suspend(
            case=case, actor=actor, kind=data["kind"], reason=data["reason"]
        ),
        "Suspend: stop the clock from today (挂起)",
    ),
    "resume": (
        s.ResumeSerializer,
        lambda case, actor, data, request: services.case_resume(
            case=case,
            actor=actor,
            materials_received_on=data.get("materials_received_on"),
        ),
        "Resume: the pause ends on the day materials were received",
    ),
    "extend": (
        s.ExtendSerializer,
        lambda case, actor, data, request: services.case_extend(
            case=case, actor=actor, days=data["days"], reason=data["reason"]
        ),
        "Extend the deadlines once (延期)",
    ),
    "withdraw": (
        s.ReasonSerializer,
        lambda case, actor, data, request: services.case_withdraw(
            case=case, actor=actor, reason=data["reason"]
        ),
        "Withdraw the application (applicant)",
    ),
    "decide": (
        s.DecideSerializer,
        lambda case, actor, data, request: services.case_decide(
            case=case, actor=actor, decision=data["decision"], reason=data["reason"]
        ),
        "Approve, or deny with a reason",
    ),
    "issue_result": (
        s.NoteSerializer,
        lambda case, actor, data, request: services.case_issue_result(
            case=case, actor=actor, note=data["note"]
        ),
        "Issue the result (出证/送达)",
    ),
    "close": (
        s.NoteSerializer,
        lambda case, actor, data, request: services.case_close(
            case=case, actor=actor, note=data["note"]
        ),
        "Close the case (办结)",
    ),
    "terminate": (
        s.ReasonSerializer,
        lambda case, actor, data, request: services.case_terminate(
            case=case, actor=actor, reason=data["reason"]
        ),
        "Terminate an open case, with the reason (终止)",
    ),
}


@extend_schema(tags=["cases"])
class CaseActionView(generics.GenericAPIView):
    """One view per verb: ``as_view(verb=...)`` picks the input and service."""

    verb = ""
    parser_classes = PARSERS
    filter_backends: list = []
    pagination_class = None

    def get_serializer_class(self):
        return ACTIONS[self.verb][0]

    def get_queryset(self):
        return Case.objects.none()

    def post(self, request, number: str):
        serializer_class, call, _summary = ACTIONS[self.verb]
        case = selectors.case_get_for_user(user=request.user, number=number)
        form = serializer_class(data=request.data)
        validated(form)

        case = call(case, request.user, form.validated_data, request)

        return Response(_detail(case, request))


def action_view(verb: str):
    """Return the view of one case action, documented on its own."""
    serializer_class, _call, summary = ACTIONS[verb]
    documented = extend_schema(
        operation_id=f"cases_{verb}",
        summary=summary,
        request=serializer_class,
        responses={200: s.CaseDetailSerializer, **ERRORS},
    )

    # A function of its own per verb: the schema annotation sits on it.
    def post(self, request, number: str):
        return CaseActionView.post(self, request, number)

    view_class = type(
        f"Case{verb.title().replace('_', '')}View",
        (CaseActionView,),
        {"verb": verb, "post": documented(post)},
    )
    return view_class.as_view()


@extend_schema(tags=["cases"])
class CaseMaterialUploadView(APIView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        operation_id="cases_materials_add",
        summary="Add files to a case before review",
        request={"multipart/form-data": s.CorrectionSupplySerializer},
        responses={201: s.MaterialSerializer(many=True), **ERRORS},
    )
    def post(self, request, number: str):
        case = selectors.case_get_for_user(user=request.user, number=number)
        added = services.case_add_materials(
            case=case, actor=request.user, materials=material_uploads(request)
        )
        return Response(
            s.MaterialSerializer(added, many=True).data,
            status=status.HTTP_201_CREATED,
        )


@extend_schema(tags=["cases"])
class MaterialDownloadView(APIView):
    @extend_schema(
        operation_id="materials_download",
        summary="Download a material under its original name",
        responses={
            (200, "application/octet-stream"): OpenApiTypes.BINARY,
            404: ERRORS[404],
        },
    )
    def get(self, request, pk: int):
        material = selectors.material_get_for_user(user=request.user, pk=pk)
        return FileResponse(
            material.file.open("rb"),
            as_attachment=True,
            filename=material.original_name,
            content_type=material.content_type or "application/octet-stream",
        )


@extend_schema(tags=["cases"])
class LicenceListView(generics.GenericAPIView):
    serializer_class = s.LicenceSerializer
    filter_backends: list = []

    @extend_schema(
        operation_id="licences_list",
        summary="My valid e-licences (证照库), to stand in for materials",
    )
    def get(self, request):
        licences = results.licences_for_holder(user=request.user).order_by(
            "-issued_on", "-pk"
        )
        page = self.paginate_queryset(licences)
        return self.get_paginated_response(s.LicenceSerializer(page, many=True).data)


@extend_schema(tags=["tasks"])
class TaskInboxView(generics.GenericAPIView):
    serializer_class = s.TaskSerializer
    filter_backends: list = []

    @extend_schema(
        operation_id="tasks_inbox",
        summary="Open tasks of my department, soonest due first",
    )
    def get(self, request):
        tasks = selectors.task_inbox_for_user(user=request.user)
        page = self.paginate_queryset(tasks)
        return self.get_paginated_response(s.TaskSerializer(page, many=True).data)


@extend_schema(tags=["tasks"])
class TaskDetailView(generics.GenericAPIView):
    serializer_class = s.TaskDetailSerializer
    pagination_class = None
    filter_backends: list = []

    @extend_schema(
        operation_id="tasks_read",
        summary="One task: answers, signers, where it may be sent back, history",
        responses={200: s.TaskDetailSerializer, 404: ERRORS[404]},
    )
    def get(self, request, pk: int):
        task = selectors.task_get_on_visible_case(user=request.user, pk=pk)
        return Response(s.TaskDetailSerializer(task, context={"request": request}).data)


@extend_schema(tags=["tasks"])
class TaskCompleteView(generics.GenericAPIView):
    serializer_class = s.TaskCompleteSerializer
    pagination_class = None
    filter_backends: list = []

    @extend_schema(
        operation_id="tasks_complete",
        summary="Answer a review task with one of its answers",
        responses={200: s.TaskSerializer, **ERRORS},
    )
    def post(self, request, pk: int):
        task = selectors.task_get_for_user(user=request.user, pk=pk)
        form = s.TaskCompleteSerializer(data=request.data)
        validated(form)

        task = services.task_complete(
            task=task,
            actor=request.user,
            outcome=form.validated_data["outcome"],
            opinion=form.validated_data["opinion"],
        )

        task.refresh_from_db()
        return Response(s.TaskSerializer(task).data)


# Verbs on a task: serializer, service call, summary.
TASK_VERBS: dict[str, tuple[type, Callable[..., Any], str]] = {
    "send_back": (
        s.TaskSendBackSerializer,
        lambda task, actor, data: services.task_send_back(
            task=task, actor=actor, node_key=data["node"], reason=data["reason"]
        ),
        "Send the case back to an earlier step (退回)",
    ),
    "transfer": (
        s.TaskHandOverSerializer,
        lambda task, actor, data: services.task_transfer(
            task=task, actor=actor, to_user_id=data["to_user"], reason=data["reason"]
        ),
        "Transfer the task to another reviewer (转办)",
    ),
    "delegate": (
        s.TaskDelegateSerializer,
        lambda task, actor, data: services.task_delegate(
            task=task, actor=actor, to_user_id=data["to_user"], note=data["note"]
        ),
        "Let a colleague act for the handler (委托)",
    ),
    "cosigners": (
        s.TaskSignersSerializer,
        lambda task, actor, data: services.task_cosigners_add(
            task=task, actor=actor, user_ids=data["signers"], note=data["note"]
        ),
        "Ask colleagues to sign before the handler answers (加签)",
    ),
    "countersign": (
        s.TaskCountersignSerializer,
        lambda task, actor, data: services.task_countersign(
            task=task,
            actor=actor,
            user_ids=data["signers"],
            mode=data["mode"],
            note=data["note"],
        ),
        "Let several reviewers decide: all must sign or any may (会签/或签)",
    ),
    "sign": (
        s.TaskCompleteSerializer,
        lambda task, actor, data: services.task_sign(
            task=task, actor=actor, outcome=data["outcome"], opinion=data["opinion"]
        ),
        "Sign the task as a co-signer or countersigner",
    ),
    "urge": (
        s.TaskUrgeSerializer,
        lambda task, actor, data: services.task_urge(
            task=task, actor=actor, note=data["note"]
        ),
        "Urge the task's handler (催办)",
    ),
}


class TaskVerbView(generics.GenericAPIView):
    """Run one verb on a task; the answer is the task as it stands after."""

    verb = ""
    pagination_class = None
    filter_backends: list = []

    def get_serializer_class(self):
        return TASK_VERBS[self.verb][0]

    def get_queryset(self):
        return Task.objects.none()

    def post(self, request, pk: int):
        serializer_class, call, _summary = TASK_VERBS[self.verb]
        if self.verb == "urge":
            task = selectors.task_get_on_visible_case(user=request.user, pk=pk)
        else:
            task = selectors.task_get_for_user(user=request.user, pk=pk)
        form = serializer_class(data=request.data)
        validated(form)

        call(task, request.user, form.validated_data)

        task.refresh_from_db()
        return Response(s.TaskDetailSerializer(task, context={"request": request}).data)


def task_verb_view(verb: str):
    """Return the view of one task verb, documented on its own."""
    serializer_class, _call, summary = TASK_VERBS[verb]
    documented = extend_schema(
        operation_id=f"tasks_{verb}",
        summary=summary,
        request=serializer_class,
        responses={200: s.TaskDetailSerializer, **ERRORS},
        tags=["tasks"],
    )

    def post(self, request, pk: int):
        return TaskVerbView.post(self, request, pk)

    view_class = type(
        f"Task{verb.title().replace('_', '')}View",
        (TaskVerbView,),
        {"verb": verb, "post": documented(post)},
    )
    return view_class.as_view()


@extend_schema(tags=["tasks"])
class TaskVerifyView(generics.GenericAPIView):
    serializer_class = s.VerificationSerializer
    pagination_class = None
    filter_backends: list = []

    @extend_schema(
        operation_id="tasks_verify",
        summary="Record the verification of a notify-and-commit case (核查)",
        description=(
            "commitment_confirmed closes the task; commitment_false needs the "
            "reason, revokes the case's result with it and records a "
            "violation in the applicant's library entry."
        ),
        responses={200: s.TaskSerializer, **ERRORS},
    )
    def post(self, request, pk: int):
        task = selectors.task_get_for_user(user=request.user, pk=pk)
        form = s.VerificationSerializer(data=request.data)
        validated(form)

        task = services.task_verify(
            task=task,
            actor=request.user,
            outcome=form.validated_data["outcome"],
            reason=form.validated_data["reason"],
        )

        task.refresh_from_db()
        return Response(s.TaskSerializer(task).data)
