"""catalogue_import against the real catalogue files shipped in data/."""

import csv
import io
import json
import threading
from pathlib import Path

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from smartapproval.accounts.models import Department
from smartapproval.audit.models import AuditEntry
from smartapproval.catalogue import services
from smartapproval.catalogue.models import (
    ItemStatus,
    ItemType,
    MaterialRequirement,
    ServiceItem,
    ServiceItemVersion,
)
from smartapproval.catalogue.services import (
    IMPORT_ACTOR_LABEL,
    catalogue_import,
    item_confirm_legal_limit,
    item_update,
)
from smartapproval.catalogue.tests.factories import AdminUserFactory, DepartmentFactory
from smartapproval.core.api import ServiceError

DATA = Path(__file__).resolve().parent.parent / "data"
CSV_FILE = DATA / "guangan-511602-items.csv"
JSON_FILE = DATA / "feasibility-study-approval.json"
JSON_CODE = "1145072100811537184452004020000"
HEADER = "dept,group,name,itemCode,taskType,deptCode,area"


def csv_rows() -> list[dict[str, str]]:
    with CSV_FILE.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=HEADER.split(","))
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def writes(queries: CaptureQueriesContext) -> list[str]:
    return [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
    ]


@pytest.mark.django_db
class TestCsvImport:
    def test_creates_every_item_and_department_of_the_real_list(self):
        report = catalogue_import(path=CSV_FILE)

        assert (report.created, report.updated, report.unchanged) == (1135, 0, 0)
        assert report.departments_created == 34
        assert report.errors == []
        assert ServiceItem.objects.count() == 1135
        assert Department.objects.count() == 34
        assert len({row["dept"] for row in csv_rows()}) == 34

    def test_all_csv_items_are_drafts(self):
        catalogue_import(path=CSV_FILE)

        assert not ServiceItem.objects.exclude(status=ItemStatus.DRAFT).exists()

    def test_licensing_items_get_an_unconfirmed_statutory_default(self):
        catalogue_import(path=CSV_FILE)

        licensing = ServiceItem.objects.filter(item_type=ItemType.LICENSING)
        assert licensing.count() == 536
        assert (
            licensing.filter(
                legal_limit_value=20,
                legal_limit_unit="working_days",
                legal_limit_confirmed=False,
            ).count()
            == 536
        )
        item = licensing.first()
        assert item.legal_limit_text == "法定默认 20 个工作日（待确认）"
        others = ServiceItem.objects.exclude(item_type=ItemType.LICENSING)
        assert not others.filter(legal_limit_value__isnull=False).exists()
        assert not ServiceItem.objects.filter(
            promised_limit_value__isnull=False
        ).exists()

    def test_item_fields_come_from_the_row(self):
        catalogue_import(path=CSV_FILE)

        item = ServiceItem.objects.get(
            implementation_code=(
                "511A0138000000-511602000000-000-115113010833722043-1-00"
            )
        )
        assert item.name == "适龄儿童、少年因身体状况需要延缓入学或者休学审批"
        assert item.basic_code == "511A0138000000"
        assert item.implementing_body_code == "115113010833722043"
        assert item.item_type == ItemType.LICENSING
        assert item.department.name == "区教科体局"
        assert item.region_code == "511602"
        assert item.group_name == ""
        assert item.version == 1
        grouped = ServiceItem.objects.exclude(group_name="")
        assert grouped.count() == 520
        assert not grouped.filter(group_name="未分类").exists()

    def test_department_is_known_by_name_with_its_most_frequent_code(self):
        catalogue_import(path=CSV_FILE)

        # 区人社局 appears under five codes; most rows carry this one.
        assert Department.objects.get(name="区人社局").code == "1151130108778239R"
        # 区残联's code is lowercase in the list; codes are stored upper-case.
        assert Department.objects.get(name="区残联").code == "11511301452259996U"
        assert Department.objects.get(name="区行政审批局").region_code == "511602"

    def test_implementing_body_code_is_kept_per_item(self):
        catalogue_import(path=CSV_FILE)

        bodies = set(
            ServiceItem.objects.filter(department__name="区人社局").values_list(
                "implementing_body_code", flat=True
            )
        )
        assert {"1151130108778239R", "12511301452260997J"} <= bodies
        # An organisation code with its own hyphen stays whole.
        item = ServiceItem.objects.get(
            implementation_code="511A0081000003-511602000000-000-00877868-5-1-00"
        )
        assert item.implementing_body_code == "00877868-5"

    def test_codes_outside_the_national_form_import_with_a_warning(self):
        report = catalogue_import(path=CSV_FILE)

        item = ServiceItem.objects.get(
            implementation_code="E-000004-001-11511301008778386B"
        )
        assert item.implementing_body_code == "11511301008778386B"
        assert item.basic_code == "E-000004-001"
        assert [w.row for w in report.warnings] == [167, 368, 632]
        assert "不符合国家规定格式" in report.warnings[0].message

    def test_each_created_item_and_department_is_audited_as_the_import(self):
        catalogue_import(path=CSV_FILE)

        created = AuditEntry.objects.filter(action="item_created")
        assert created.count() == 1135
        assert set(created.values_list("actor_label", flat=True)) == {
            IMPORT_ACTOR_LABEL
        }
        assert AuditEntry.objects.filter(action="department_created").count() == 34
        entry = created.get(
            target_id=str(
                ServiceItem.objects.get(
                    implementation_code=(
                        "511Z07001006-511602000000-000-11511301008778183N-1-00"
                    )
                ).pk
            )
        )
        assert entry.after["name"] == "企业投资项目备案（技术改造）（市级/县级）"
        assert "第 2 行" in entry.note

    def test_import_by_a_person_is_audited_under_their_name(self):
        admin = AdminUserFactory()
        catalogue_import(path=JSON_FILE, actor=admin)

        entry = AuditEntry.objects.get(action="item_created")
        assert entry.actor == admin
        assert entry.actor_label == admin.username

    def test_items_are_written_in_bulk_besides_their_audit_entries(self):
        with CaptureQueriesContext(connection) as queries:
            catalogue_import(path=CSV_FILE)

        # One audit insert per item is the legal record; everything else is
        # per department or per batch, not per row.
        audit = [q for q in writes(queries) if "audit_auditentry" in q]
        assert len(audit) == 1135 + 34
        assert len(queries.captured_queries) - len(audit) < 34 * 10 + 20

    def test_an_existing_department_keeps_its_code(self):
        DepartmentFactory(name="区教科体局", code="11511301CORRECTED1")

        report = catalogue_import(path=CSV_FILE)

        assert report.departments_created == 33
        assert Department.objects.get(name="区教科体局").code == "11511301CORRECTED1"


@pytest.mark.django_db
class TestJsonImport:
    def test_full_item_imports_published_with_confirmed_limits(self):
        report = catalogue_import(path=JSON_FILE)

        assert report.created == 1
        assert report.errors == []
        item = ServiceItem.objects.get(implementation_code=JSON_CODE)
        assert item.status == ItemStatus.PUBLISHED
        assert item.published_at is not None
        assert (item.legal_limit_value, item.legal_limit_unit) == (20, "working_days")
        assert item.legal_limit_confirmed is True
        assert (item.promised_limit_value, item.promised_limit_unit) == (
            5,
            "working_days",
        )
        assert item.legal_limit_text == "20 个工作日"
        assert item.promised_limit_text == "5 个工作日"

    def test_full_item_fields_are_exact(self):
        catalogue_import(path=JSON_FILE)

        item = ServiceItem.objects.get(implementation_code=JSON_CODE)
        assert item.name == "政府投资项目审批——可行性研究报告审批"
        assert item.basic_code == "452004020000"
        assert item.region_code == "450721"
        assert item.version == 11
        assert item.department.name == "灵山县发展和改革局"
        assert item.department.code == "114507210081153718"
        assert item.implementing_body_code == "114507210081153718"
        assert item.on_site_visits == 1
        assert item.on_site_reason == "现场核验材料"
        assert item.handling_modes == ["window", "online"]
        assert item.fee == ""
        assert item.lead_department_name == "灵山县发展和改革局"
        assert item.co_department_names == [
            "城市规划行政主管部门",
            "自然资源行政主管部门",
        ]
        assert item.result_name == "灵山县发展和改革局关于×××项目可行性研究报告的批复"
        assert item.result_type == "approval_document"
        assert item.complaint_phone == "0777-6428880"
        assert item.window["phone"] == "0777-6428820"
        assert item.window["name"] == "县政务服务中心法人大厅②工程建设项目综合窗口"
        assert item.window["hours"].startswith("工作日：上午9:00-12:00")
        assert len(item.legal_bases) == 4
        assert item.legal_bases[0] == {
            "name": "《国务院关于投资体制改革的决定》",
            "number": "国发〔2004〕20号",
            "clause": "第三条第四款",
        }
        assert item.faq == [
            {
                "question": "可行性研究报告批准后，下一步要开展什么工作？",
                "answer": (
                    "向城乡规划部门申请规划许可，向国土资源部门申请正式用地手续，"
                    "委托有资质的设计单位依据批复和勘察情况编制初步设计及工程概算。"
                ),
            }
        ]
        assert item.review_channels["reconsideration"].startswith("自知道该行政行为")
        assert item.special_procedures == [
            {
                "kind": "expert_review",
                "name": "专家评审",
                "limit": {"value": 30, "unit": "working_days"},
                "basis": "中华人民共和国国家发展和改革委员会令2017年第2号",
            }
        ]

    def test_nine_materials_with_originals_copies_and_one_optional(self):
        catalogue_import(path=JSON_FILE)

        materials = list(
            MaterialRequirement.objects.filter(
                item__implementation_code=JSON_CODE
            ).order_by("order")
        )
        assert [m.order for m in materials] == list(range(1, 10))
        assert [(m.originals, m.copies) for m in materials] == [
            (0, 3),
            (3, 0),
            (1, 0),
            (0, 3),
            (0, 3),
            (0, 3),
            (0, 3),
            (1, 0),
            (0, 3),
        ]
        assert [m.order for m in materials if not m.required] == [9]
        assert materials[1].sign == "编制单位盖章"
        assert materials[6].note == "农口项目可免"
        assert materials[8].basis == "桂发改投资〔2013〕833号"
        assert all(m.paper == "A4" and m.source == "申请人自备" for m in materials)

    def test_missing_item_type_is_reported_and_defaults_to_other_power(self):
        report = catalogue_import(path=JSON_FILE)

        item = ServiceItem.objects.get(implementation_code=JSON_CODE)
        assert item.item_type == ItemType.OTHER_POWER
        assert [str(w) for w in report.warnings] == [
            "feasibility-study-approval.json 第 1 行："
            "未提供事项类型，按“其他行政权力”导入。"
        ]

    def test_full_item_missing_a_limit_imports_as_a_draft_with_a_warning(
        self, tmp_path
    ):
        data = json.loads(JSON_FILE.read_text(encoding="utf-8"))
        del data["promised_limit"]
        path = tmp_path / "item.json"
        path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")

        report = catalogue_import(path=path)

        item = ServiceItem.objects.get(implementation_code=JSON_CODE)
        assert item.status == ItemStatus.DRAFT
        assert report.warnings[-1].message == "已按草稿导入：缺少承诺时限。"

    def test_directory_imports_every_file(self):
        report = catalogue_import(path=DATA)

        assert report.created == 1136
        # 34 implementing departments, the feasibility study's county one and
        # its two co-departments, which the item names without a code.
        assert report.departments_created == 37
        co = Department.objects.get(name="城市规划行政主管部门")
        assert co.code.startswith("CO-")
        assert report.errors == []
        assert ServiceItem.objects.filter(status=ItemStatus.PUBLISHED).count() == 1

    def test_changed_json_replaces_materials_and_bumps_version(self, tmp_path):
        catalogue_import(path=JSON_FILE)
        text = JSON_FILE.read_text(encoding="utf-8").replace(
            '"copies": 3,\n      "paper": "A4",\n      "sign": "单位盖章",\n      '
            '"source": "申请人自备",\n      "basis": "桂发改投资',
            '"copies": 2,\n      "paper": "A4",\n      "sign": "单位盖章",\n      '
            '"source": "申请人自备",\n      "basis": "桂发改投资',
        )
        changed = tmp_path / "item.json"
        changed.write_text(text, encoding="utf-8")

        report = catalogue_import(path=changed)

        assert report.updated == 1
        item = ServiceItem.objects.get(implementation_code=JSON_CODE)
        assert item.version == 12
        assert item.materials.get(order=9).copies == 2
        frozen = ServiceItemVersion.objects.get(item=item)
        assert frozen.version == 11
        assert frozen.snapshot["materials"][8]["copies"] == 3

    def test_json_carries_notify_and_commit_and_the_materials_it_replaces(
        self, tmp_path
    ):
        data = json.loads(JSON_FILE.read_text(encoding="utf-8"))
        data["notify_commit_allowed"] = True
        data["verification_limit_value"] = 20
        data["commitment_statement"] = "申请人承诺符合条件。"
        data["materials"][1]["commitment_replaces"] = True
        path = tmp_path / "item.json"
        path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")

        report = catalogue_import(path=path)

        assert report.errors == []
        item = ServiceItem.objects.get(implementation_code=JSON_CODE)
        assert item.notify_commit_allowed is True
        assert item.verification_limit_value == 20
        assert item.commitment_statement == "申请人承诺符合条件。"
        assert list(
            item.materials.filter(commitment_replaces=True).values_list(
                "order", flat=True
            )
        ) == [data["materials"][1].get("order", 2)]

    def test_json_names_the_other_items_results_a_material_is(self, tmp_path):
        data = json.loads(JSON_FILE.read_text(encoding="utf-8"))
        data["materials"][0]["accepts_results"] = [" 项目建议书批复 ", ""]
        data["materials"][5]["accepts_results"] = "节能审查意见"
        path = tmp_path / "item.json"
        path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")

        report = catalogue_import(path=path)

        assert report.errors == []
        item = ServiceItem.objects.get(implementation_code=JSON_CODE)
        accepted = dict(item.materials.values_list("order", "accepts_results"))
        assert accepted[1] == ["项目建议书批复"]
        assert accepted[6] == ["节能审查意见"]
        assert accepted[2] == []

    def test_json_refuses_accepted_results_that_are_not_names(self, tmp_path):
        data = json.loads(JSON_FILE.read_text(encoding="utf-8"))
        data["materials"][0]["accepts_results"] = [{"code": 1}]
        path = tmp_path / "item.json"
        path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")

        report = catalogue_import(path=path)

        assert len(report.errors) == 1
        assert not ServiceItem.objects.filter(implementation_code=JSON_CODE).exists()

    def test_json_refuses_a_verification_limit_of_nought(self, tmp_path):
        data = json.loads(JSON_FILE.read_text(encoding="utf-8"))
        data["verification_limit_value"] = 0
        path = tmp_path / "item.json"
        path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")

        report = catalogue_import(path=path)

        assert len(report.errors) == 1
        assert not ServiceItem.objects.filter(implementation_code=JSON_CODE).exists()


@pytest.mark.django_db
class TestReimport:
    def test_unchanged_reimport_writes_nothing(self):
        catalogue_import(path=DATA)
        audit_count = AuditEntry.objects.count()

        with CaptureQueriesContext(connection) as queries:
            report = catalogue_import(path=DATA)

        assert (report.created, report.updated, report.unchanged) == (0, 0, 1136)
        assert report.departments_created == 0
        assert writes(queries) == []
        assert ServiceItem.objects.count() == 1136
        assert ServiceItemVersion.objects.count() == 0
        assert AuditEntry.objects.count() == audit_count

    def test_changed_row_bumps_version_with_snapshot_and_audit(self, tmp_path):
        catalogue_import(path=CSV_FILE)
        rows = csv_rows()
        code = rows[0]["itemCode"]
        old_name = rows[0]["name"]
        rows[0]["name"] = "企业投资项目备案（技术改造）"

        report = catalogue_import(path=write_csv(tmp_path / "items.csv", rows))

        assert (report.created, report.updated, report.unchanged) == (0, 1, 1134)
        item = ServiceItem.objects.get(implementation_code=code)
        assert item.name == "企业投资项目备案（技术改造）"
        assert item.version == 2
        frozen = ServiceItemVersion.objects.get(item=item)
        assert frozen.version == 1
        assert frozen.snapshot["name"] == old_name
        entry = AuditEntry.objects.get(action="item_updated")
        assert entry.target_id == str(item.pk)
        assert entry.actor_label == IMPORT_ACTOR_LABEL
        assert entry.before == {"name": old_name}
        assert entry.after == {"name": "企业投资项目备案（技术改造）"}
        assert ServiceItem.objects.filter(implementation_code=code).count() == 1

    def test_reimport_keeps_limits_and_materials_completed_in_the_admin(self, tmp_path):
        catalogue_import(path=CSV_FILE)
        admin = AdminUserFactory()
        rows = csv_rows()
        row = next(r for r in rows if r["taskType"] == "1")
        item = ServiceItem.objects.get(implementation_code=row["itemCode"])
        item_update(
            actor=admin,
            item=item,
            legal_limit_value=15,
            promised_limit_value=3,
            materials=[{"name": "申请书", "originals": 1}],
        )
        item_confirm_legal_limit(actor=admin, item=item)
        row["group"] = "新的主项"

        report = catalogue_import(path=write_csv(tmp_path / "items.csv", rows))

        assert report.updated == 1
        item.refresh_from_db()
        assert item.group_name == "新的主项"
        assert (item.legal_limit_value, item.legal_limit_confirmed) == (15, True)
        assert item.promised_limit_value == 3
        assert list(item.materials.values_list("name", flat=True)) == ["申请书"]

    def test_unchanged_reimport_keeps_a_name_changed_in_the_admin(self):
        catalogue_import(path=CSV_FILE)
        item = ServiceItem.objects.order_by("pk").first()
        item_update(actor=AdminUserFactory(), item=item, name="人工修订的名称")

        report = catalogue_import(path=CSV_FILE)

        assert report.updated == 0
        item.refresh_from_db()
        assert item.name == "人工修订的名称"

    def test_change_that_would_break_a_published_item_is_refused(self, tmp_path):
        catalogue_import(path=JSON_FILE)
        data = json.loads(JSON_FILE.read_text(encoding="utf-8"))
        data["item_type"] = "1"
        data["materials"] = []
        changed = tmp_path / "item.json"
        changed.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")

        report = catalogue_import(path=changed)

        assert report.updated == 0
        assert [(e.row, e.message) for e in report.errors] == [
            (1, "该变更未导入：行政许可事项至少需要一项申请材料。")
        ]
        item = ServiceItem.objects.get(implementation_code=JSON_CODE)
        assert item.item_type == ItemType.OTHER_POWER
        assert item.materials.count() == 9
        assert item.version == 11


@pytest.mark.django_db
class TestMalformedRows:
    def test_bad_rows_are_reported_with_row_numbers_and_the_rest_imports(
        self, tmp_path
    ):
        good = csv_rows()[:3]
        text = "\n".join(
            [
                HEADER,
                ",".join(good[0].values()),
                "区教科体局,未分类,,511A0000000001-511602000000-000-X-1-00,1,X,511602000000",
                ",".join(good[1].values()),
                "区教科体局,未分类,某事项,511A0000000002-511602000000-000-X-1-00,99,X,511602000000",
                "区教科体局,未分类,少一列",
                ",".join(good[2].values()),
                ",".join(good[2].values()),
            ]
        )
        path = tmp_path / "items.csv"
        path.write_text(text + "\n", encoding="utf-8")

        report = catalogue_import(path=path)

        assert report.created == 3
        assert [(e.row, e.message) for e in report.errors] == [
            (3, "事项名称为空。"),
            (5, "事项类型“99”无法识别。"),
            (6, "该行的列数少于表头。"),
            (8, f"实施编码 {good[2]['itemCode']} 与第 7 行重复。"),
        ]
        assert str(report.errors[0]) == "items.csv 第 3 行：事项名称为空。"

    def test_file_without_the_item_columns_is_refused_whole(self, tmp_path):
        path = tmp_path / "other.csv"
        path.write_text("dept,name\n区教科体局,某事项\n", encoding="utf-8")

        report = catalogue_import(path=path)

        assert report.created == 0
        assert [(e.row, e.message) for e in report.errors] == [
            (1, "表头缺少以下列：group, itemCode, taskType, deptCode, area。")
        ]

    def test_invalid_json_entry_is_reported(self, tmp_path):
        data = json.loads(JSON_FILE.read_text(encoding="utf-8"))
        bad = dict(data, implementation_code="X1", promised_limit={"value": 30})
        path = tmp_path / "items.json"
        path.write_text(json.dumps([bad, data], ensure_ascii=False), encoding="utf-8")

        report = catalogue_import(path=path)

        assert report.created == 1
        assert [(e.row, e.message) for e in report.errors] == [
            (1, "承诺时限超过法定时限。")
        ]

    def test_missing_path_is_refused_in_chinese(self, tmp_path):
        with pytest.raises(ServiceError) as caught:
            catalogue_import(path=tmp_path / "none.csv")

        assert caught.value.message.startswith("找不到事项目录文件或目录")


@pytest.mark.django_db(transaction=True)
class TestConcurrentImport:
    def test_items_inserted_by_another_import_meanwhile_are_not_duplicated(
        self, monkeypatch
    ):
        catalogue_import(path=CSV_FILE)
        # The other import commits its rows after this one looked for them:
        # the bulk insert meets the unique code and falls back row by row.
        monkeypatch.setattr(services, "_items_by_code", lambda codes: {})

        report = catalogue_import(path=CSV_FILE)

        assert (report.created, report.updated, report.unchanged) == (0, 0, 1135)
        assert report.errors == []
        assert ServiceItem.objects.count() == 1135
        assert AuditEntry.objects.filter(action="item_created").count() == 1135

    def test_two_imports_at_once_create_each_item_once(self):
        reports = []
        failures = []

        def run() -> None:
            try:
                reports.append(catalogue_import(path=CSV_FILE))
            except Exception as exc:  # noqa: BLE001 - reported below
                failures.append(exc)
            finally:
                connections.close_all()

        threads = [threading.Thread(target=run) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert failures == []
        assert sum(r.created for r in reports) == 1135
        assert sum(r.unchanged for r in reports) == 1135
        assert sum(r.departments_created for r in reports) == 34
        assert ServiceItem.objects.count() == 1135
        assert Department.objects.count() == 34
        assert AuditEntry.objects.filter(action="item_created").count() == 1135
