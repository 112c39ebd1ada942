"""Uploads: checked before storing, stored under a generated name (case 20)."""

import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from smartapproval.cases import services, uploads
from smartapproval.cases.models import Case, CaseMaterial
from smartapproval.cases.tests import factories as f
from smartapproval.cases.uploads import MaterialUpload
from smartapproval.core.api import ServiceError

pytestmark = pytest.mark.usefixtures("calendar", "clock")

LONG_NAME = "材料说明" * 22 + "补充" + ".pdf"  # 90 Chinese characters


def test_long_name_is_ninety_chinese_characters_over_255_bytes():
    assert len(LONG_NAME) == 94
    assert len(LONG_NAME.encode()) == 274


def test_case20_long_chinese_name_is_stored_under_a_generated_name(
    item, applicant, settings
):
    first = f.pdf(LONG_NAME, body=b"one")
    second = f.pdf(LONG_NAME, body=b"two")

    case = f.submitted_case(
        item=item,
        applicant=applicant,
        materials=[MaterialUpload(file=first), MaterialUpload(file=second)],
    )

    stored = list(case.materials.order_by("pk"))
    assert [m.original_name for m in stored] == [LONG_NAME, LONG_NAME]
    assert stored[0].file.name != stored[1].file.name
    for material in stored:
        assert material.file.name.startswith("materials/")
        assert material.file.name.endswith(".pdf")
        assert len(material.file.name.encode()) < 100
        assert (settings.MEDIA_ROOT / material.file.name).exists()
    assert stored[1].file.read().startswith(b"%PDF-")


def test_checked_upload_knows_size_type_and_digest(item):
    file = f.pdf("申请书.PDF")
    body = file.read()

    checked = uploads.upload_check(MaterialUpload(file=file), requirements={})

    assert checked.extension == "pdf"
    assert checked.content_type == "application/pdf"
    assert checked.size == len(body)
    assert checked.sha256 == hashlib.sha256(body).hexdigest()


@pytest.mark.parametrize(
    ("file", "code", "words"),
    [
        (
            SimpleUploadedFile("病毒.exe", b"MZ\x90\x00"),
            "file_type",
            ["“病毒.exe”", "类型不被接受"],
        ),
        (
            SimpleUploadedFile("假的.pdf", b"<html>not a pdf</html>"),
            "file_content",
            ["“假的.pdf”", "不是 PDF 文件"],
        ),
        (
            SimpleUploadedFile("照片.png", b"\xff\xd8\xff\xe0 jpeg"),
            "file_content",
            ["“照片.png”", "PNG"],
        ),
        (SimpleUploadedFile("空.pdf", b""), "file_empty", ["“空.pdf”", "空文件"]),
    ],
)
def test_bad_files_are_refused_naming_the_file(item, applicant, file, code, words):
    with pytest.raises(ServiceError) as error:
        f.submitted_case(
            item=item, applicant=applicant, materials=[MaterialUpload(file=file)]
        )

    assert error.value.code == code
    assert error.value.field == "materials"
    for word in words:
        assert word in error.value.message
    assert Case.objects.count() == 0


def test_file_over_the_size_limit_is_refused(item, applicant, settings):
    settings.UPLOAD_MAX_BYTES = 1024 * 1024
    big = f.pdf("大文件.pdf", body=b"x" * (1024 * 1024))

    with pytest.raises(ServiceError) as error:
        f.submitted_case(
            item=item, applicant=applicant, materials=[MaterialUpload(file=big)]
        )

    assert error.value.code == "file_too_large"
    assert error.value.message == "文件“大文件.pdf”超过 1 MB 的大小上限。"


def test_jpeg_and_office_files_are_accepted(item, applicant):
    jpeg = SimpleUploadedFile("照片.JPG", b"\xff\xd8\xff\xe0" + b"\x00" * 16)
    docx = SimpleUploadedFile("说明.docx", b"PK\x03\x04 anything")

    case = f.submitted_case(
        item=item,
        applicant=applicant,
        materials=[MaterialUpload(file=jpeg), MaterialUpload(file=docx)],
    )

    assert sorted(case.materials.values_list("content_type", flat=True)) == [
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "image/jpeg",
    ]


def test_file_for_another_items_requirement_is_refused(item, applicant):
    foreign = f.MaterialRequirementFactory()

    with pytest.raises(ServiceError) as error:
        f.submitted_case(
            item=item,
            applicant=applicant,
            materials=[MaterialUpload(file=f.pdf(), requirement_id=foreign.pk)],
        )

    assert error.value.code == "unknown_requirement"


def test_path_and_control_characters_are_dropped_from_the_name():
    assert (
        uploads.clean_original_name("C:\\Users\\张三\\申请\x00书.pdf") == "申请书.pdf"
    )


def test_owner_and_clerk_add_materials_before_review(item, applicant, clerk):
    case = f.submitted_case(item=item, applicant=applicant, materials=[])

    services.case_add_materials(
        case=case, actor=applicant, materials=[MaterialUpload(file=f.pdf())]
    )
    services.case_add_materials(
        case=case, actor=clerk, materials=[MaterialUpload(file=f.png())]
    )

    assert CaseMaterial.objects.filter(case=case).count() == 2


def test_failed_material_addition_removes_the_stored_files(
    item, applicant, settings, monkeypatch
):
    case = f.submitted_case(item=item, applicant=applicant, materials=[])

    def broken(**kwargs):
        raise RuntimeError("audit down")

    monkeypatch.setattr(services, "audit_record", broken)
    with pytest.raises(RuntimeError):
        services.case_add_materials(
            case=case, actor=applicant, materials=[MaterialUpload(file=f.pdf())]
        )

    assert CaseMaterial.objects.filter(case=case).count() == 0
    assert list((settings.MEDIA_ROOT / "materials").iterdir()) == []
