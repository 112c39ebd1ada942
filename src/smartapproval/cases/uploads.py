"""Check and store the files applicants submit as case materials.

A file is checked before anything is written: its size, its extension, its
content where the extension claims a format we can recognise, and its
SHA-256. It is stored under a generated name (``material_upload_to``): the
applicant's own name may be longer in bytes than the file system allows
(case 20) and may clash with another upload; the original name is kept
intact in the record and given back on download.
"""

import hashlib
import mimetypes
import unicodedata
from dataclasses import dataclass
from pathlib import PurePath

import structlog
from django.conf import settings
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext

from smartapproval.cases.models import Case, CaseMaterial
from smartapproval.catalogue.models import MaterialRequirement
from smartapproval.core.api import ServiceError

log = structlog.get_logger(__name__)

# Leading bytes of the formats whose content we check against the extension.
_MAGIC: dict[str, tuple[bytes, ...]] = {
    "pdf": (b"%PDF-",),
    "png": (b"\x89PNG\r\n\x1a\n",),
    "jpg": (b"\xff\xd8\xff",),
    "jpeg": (b"\xff\xd8\xff",),
}
# PDF readers accept the header anywhere in the first kilobyte.
_PDF_HEADER_WINDOW = 1024
_NAME_MAX_CHARS = CaseMaterial._meta.get_field("original_name").max_length


@dataclass(frozen=True)
class MaterialUpload:
    """A file as submitted, with the item's requirement it answers, if any."""

    file: UploadedFile
    requirement_id: int | None = None


@dataclass(frozen=True)
class CheckedUpload:
    """A file that passed the checks, with what we learned about it."""

    file: UploadedFile
    requirement: MaterialRequirement | None
    original_name: str
    extension: str
    content_type: str
    size: int
    sha256: str


def clean_original_name(name: str) -> str:
    """Keep the applicant's name as typed, minus paths and control characters."""
    base = PurePath(name.replace("\\", "/")).name
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C")
    base = unicodedata.normalize("NFC", base).strip()
    if len(base) > _NAME_MAX_CHARS:
        suffix = PurePath(base).suffix[:10]
        base = base[: _NAME_MAX_CHARS - len(suffix)] + suffix
    return base


def upload_check(
    upload: MaterialUpload, *, requirements: dict[int, MaterialRequirement]
) -> CheckedUpload:
    """Check one file; refuse it with a message that names the file.

    ``requirements`` are the item's requirements by id; a requirement id that
    is not among them is refused.
    """
    file = upload.file
    name = clean_original_name(file.name or "")
    if not name:
        raise ServiceError(
            gettext("A file has no name."), field="materials", code="file_no_name"
        )

    requirement = None
    if upload.requirement_id is not None:
        requirement = requirements.get(int(upload.requirement_id))
        if requirement is None:
            raise ServiceError(
                gettext("The file “%(name)s” answers no material of this item.")
                % {"name": name},
                field="materials",
                code="unknown_requirement",
            )

    extension = PurePath(name).suffix.lower().lstrip(".")
    allowed = [ext.lower().lstrip(".") for ext in settings.UPLOAD_ALLOWED_EXTENSIONS]
    if extension not in allowed:
        raise ServiceError(
            gettext(
                "The file “%(name)s” is not of an accepted type; accepted: %(allowed)s."
            )
            % {"name": name, "allowed": ", ".join(allowed)},
            field="materials",
            code="file_type",
        )

    size = file.size or 0
    if size > settings.UPLOAD_MAX_BYTES:
        raise ServiceError(
            gettext("The file “%(name)s” is larger than %(limit)s MB.")
            % {
                "name": name,
                "limit": f"{settings.UPLOAD_MAX_BYTES / (1024 * 1024):g}",
            },
            field="materials",
            code="file_too_large",
        )
    if size == 0:
        raise ServiceError(
            gettext("The file “%(name)s” is empty.") % {"name": name},
            field="materials",
            code="file_empty",
        )

    head, digest = _read_head_and_digest(file)
    if not _content_matches(extension, head):
        raise ServiceError(
            gettext(
                "The content of “%(name)s” is not a %(kind)s file; please "
                "upload the file itself."
            )
            % {"name": name, "kind": extension.upper()},
            field="materials",
            code="file_content",
        )

    content_type = mimetypes.guess_type(f"x.{extension}")[0]
    return CheckedUpload(
        file=file,
        requirement=requirement,
        original_name=name,
        extension=extension,
        content_type=content_type or "application/octet-stream",
        size=size,
        sha256=digest,
    )


def uploads_check(
    uploads: list[MaterialUpload], *, item_id: int
) -> list[CheckedUpload]:
    """Check every file of a submission before anything is stored."""
    requirements = {
        req.pk: req for req in MaterialRequirement.objects.filter(item_id=item_id)
    }
    return [upload_check(upload, requirements=requirements) for upload in uploads]


def _read_head_and_digest(file: UploadedFile) -> tuple[bytes, str]:
    file.seek(0)
    sha = hashlib.sha256()
    head = b""
    for chunk in file.chunks():
        if len(head) < _PDF_HEADER_WINDOW:
            head += chunk[: _PDF_HEADER_WINDOW - len(head)]
        sha.update(chunk)
    file.seek(0)
    return head, sha.hexdigest()


def _content_matches(extension: str, head: bytes) -> bool:
    signatures = _MAGIC.get(extension)
    if signatures is None:
        return True
    if extension == "pdf":
        return b"%PDF-" in head[:_PDF_HEADER_WINDOW]
    return head.startswith(signatures)


def material_store(
    *, case: Case, checked: CheckedUpload, actor, stored: list[str]
) -> CaseMaterial:
    """Store a checked file for ``case`` under a generated name.

    Call inside the case's transaction. The stored name is appended to
    ``stored`` so the caller can remove the file if the transaction fails.
    """
    material = CaseMaterial(
        case=case,
        requirement=checked.requirement,
        original_name=checked.original_name,
        content_type=checked.content_type,
        size=checked.size,
        sha256=checked.sha256,
        uploaded_by=actor if getattr(actor, "pk", None) else None,
    )
    checked.file.seek(0)
    # The name passed here only gives the extension; material_upload_to
    # generates the stored name.
    material.file.save(f"upload.{checked.extension}", checked.file, save=False)
    stored.append(material.file.name)
    material.save()

    log.info(
        "case_material_stored",
        case_id=case.pk,
        material_id=material.pk,
        size=checked.size,
    )
    return material


def stored_files_remove(names: list[str]) -> None:
    """Remove files stored by an attempt whose transaction rolled back."""
    for name in names:
        try:
            default_storage.delete(name)
        except OSError:
            log.warning("case_material_cleanup_failed", exc_info=True)
    if names:
        log.info("case_materials_removed_after_rollback", count=len(names))
