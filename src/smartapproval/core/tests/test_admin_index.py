"""The admin index speaks the UI's language, third-party apps included."""

import pytest


@pytest.mark.django_db
def test_admin_index_names_third_party_apps_and_captions_in_chinese(admin_client):
    html = admin_client.get("/admin/").content.decode()

    for words in [
        "登录保护",
        "登录尝试",
        "登录日志",
        "后台任务",
        "任务结果",
        "模型名称",
    ]:
        assert words in html, words
    for words in ["AXES", "Access attempts", "Task Results", "Tasks Database Backend"]:
        assert words not in html, words
