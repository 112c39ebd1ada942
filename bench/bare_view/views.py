"""The baseline of the HTTP benchmark: one INSERT in one transaction.

It runs behind the same server, middleware and database as the API but
skips DRF, authentication, services, audit and serialisation: the floor a
write request over HTTP cannot go below.
"""

from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from bench.bare_view.models import BareRow


@csrf_exempt
@require_POST
def bare_insert(request: HttpRequest) -> JsonResponse:
    with transaction.atomic():
        row = BareRow.objects.create(note=request.POST.get("note", "")[:100])
    return JsonResponse({"id": row.pk}, status=201)
