"""The county's pages around a match list: the off-list search ranked by the engine, and the
candidate profile that leads back to the list and on to a proposal."""

import re
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.app.factories import make_account, page_sign_in
from tests.app.matches.test_matches import DEER, ECOM, RICE, SALINE, SALINE_NEED, add, need


def test_off_list_search_ranks_by_meaning_and_marks_the_list(
    client: TestClient, db: Session, h: dict[str, dict[str, str]], settings: Any
) -> None:
    saline = add(client, h, "王立新", expertise=SALINE, fields=["盐碱地改良"])
    add(client, h, "刘鹿鸣", expertise=DEER, fields=["梅花鹿"])
    add(client, h, "赵稻香", expertise=RICE, fields=["水稻"])
    add(client, h, "陈小电", expertise=ECOM, fields=["电商"])
    nid = need(client, h, **SALINE_NEED)
    make_account(db, "county", "220822", username="tongyu_page")
    page_sign_in(client, "tongyu_page")
    # Nobody's profile says 碱巴拉地 (the local word): the engine still finds the saline expert.
    html = client.get(f"/needs/{nid}/candidates", params={"text": "碱巴拉地"}).text
    names = re.findall(r'<a href="/profiles/\d+\?need_id=\d+">([^<]+)</a>', html)
    assert names[0] == "王立新", names
    assert "名单第 1 名" in html
    assert f'href="/needs/{nid}/propose?profile_id={saline}"' in html
    # Words nobody's profile is near still answer with a clear sentence, not a 500.
    r = client.get(f"/needs/{nid}/candidates", params={"text": "航天发动机"})
    assert r.status_code == 200
    # Characters every text refuses are explained beside the box (a right-to-left override
    # reached the engine's input check and was a 500; found by fuzzing the pages).
    for hostile in ("\u202e碱巴拉地", "碱巴\u200b拉地", "碱巴\t拉地"):
        r = client.get(f"/needs/{nid}/candidates", params={"text": hostile})
        assert r.status_code == 200, (hostile, r.text[:300])
        assert "关键词包含不允许的控制字符或不可见字符" in r.text, hostile


def test_candidate_profile_leads_back_to_the_list_and_on_to_a_proposal(
    client: TestClient, db: Session, h: dict[str, dict[str, str]]
) -> None:
    saline = add(client, h, "王立新", expertise=SALINE, fields=["盐碱地改良"])
    nid = need(client, h, **SALINE_NEED)
    make_account(db, "county", "220822", username="tongyu_page2")
    make_account(db, "county", "220322", username="lishu_page")
    page_sign_in(client, "tongyu_page2")
    html = client.get(f"/needs/{nid}/matches").text
    assert f'href="/profiles/{saline}?need_id={nid}"' in html
    assert "匹配度" in html
    assert "模型版本" not in html  # not shown to counties
    page = client.get(f"/profiles/{saline}", params={"need_id": nid}).text
    assert f'href="/needs/{nid}/matches">返回匹配名单' in page
    assert f'href="/needs/{nid}/propose?profile_id={saline}">推荐此人' in page
    # Another county's officer gets no such buttons for a need that is not theirs.
    page_sign_in(client, "lishu_page")
    page = client.get(f"/profiles/{saline}", params={"need_id": nid}).text
    assert "推荐此人" not in page
