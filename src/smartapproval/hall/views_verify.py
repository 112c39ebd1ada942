"""The public verification page of decision documents and e-licences.

Anyone holding the QR code's address may see whether the document is valid
or revoked; no login, and nothing personal beyond a masked holder name.
"""

import structlog
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from smartapproval.cases import results

log = structlog.get_logger(__name__)


def verify(request: HttpRequest, token: str) -> HttpResponse:
    """Show a document's status; an unknown token gets a neutral 404."""
    document = results.result_verify(token=token)

    if document is None:
        log.info("result_verification_not_found")
        return render(request, "hall/verify.html", {"document": None}, status=404)
    log.info("result_verified", status=document["status"])
    return render(request, "hall/verify.html", {"document": document})
