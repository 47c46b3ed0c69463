"""The knowledge base (知识库): an answered inquiry becomes an FAQ entry, edited with every
version kept, approved by a manager only, found by staff while answering and by anyone on the
public page /faq — which shows approved entries only and nothing internal."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from portal.accounts.services import get_active_user
from portal.cards.tables import Card
from portal.inquiries import knowledge, knowledge_search
from portal.inquiries.knowledge_tables import FaqEntry, FaqVersion
from portal.inquiries.tables import InquiryDetail
from tests import factories
from tests.conftest import csrf_from, login

PEOPLE = {
    "admin": ("admin", None, "", "系统管理员"),
    "manager": ("manager", "publicity", "manager", "陈静"),
    "member": ("member", "publicity", "member", "张伟"),
    "viewer": ("viewer", "publicity", "viewer", "何建国"),
    "liaison": ("liaison", "medicare", "member", "吴敏"),
}
ANSWER = "您好！请携带医保电子凭证、发票原件、费用明细清单和出院小结，到医保经办窗口或在“i临江”App办理。"


@pytest.fixture
async def world(clean_db):
    return await factories.board("inquiries", PEOPLE)


async def inquiry(world, column: str = "answered", title: str = "医保报销需要哪些材料", answer: str = ANSWER) -> int:
    """An inquiry from the medicare department, put straight into ``column`` with ``answer``
    (set-up: the loop that gets it there is tested elsewhere)."""
    card_id = await world.card(
        "manager",
        column="pending_accept",
        title=title,
        body="本人张三，住院花了两万，想问报销要什么材料。",
        category="policy",
        citizen_name="张三",
        citizen_phone="13800138000",
        department=world.departments["medicare"],
    )
    await Card.update({Card.column: world.columns[column]}).where(Card.id == card_id)
    await InquiryDetail.update({InquiryDetail.answer: answer}).where(InquiryDetail.card == card_id)
    return card_id


async def as_user(client, username: str) -> dict[str, str]:
    """Log in; the headers htmx sends from a page (its CSRF token)."""
    client.cookies.clear()
    await login(client, username)
    page = await client.get("/knowledge")
    return {"x-csrftoken": csrf_from(page.text), "HX-Request": "true"}


async def anonymous(client) -> None:
    client.cookies.clear()


async def entry_row(entry_id: int) -> dict:
    return await FaqEntry.select().where(FaqEntry.id == entry_id).first()


async def make_entry(world, **fields) -> int:
    """An entry through the service, as ``member`` would make it; approved when asked."""
    status = fields.pop("status", "draft")
    user = await get_active_user(world.users["member"])
    form = knowledge.EntryInput(**{"answer": "答复内容", "category": "policy", **fields})
    entry_id = await knowledge.create_entry(user, form)
    manager = await get_active_user(world.users["manager"])
    if status == "approved":
        await knowledge.approve(manager, entry_id)
    elif status == "retired":
        await knowledge.retire(manager, entry_id)
    return entry_id


# From an answered inquiry to a published answer ---------------------------------------------------


async def test_an_answered_inquiry_becomes_an_entry_a_manager_approves_and_anyone_finds_by_baoxiao(world, client):
    card_id = await inquiry(world)
    headers = await as_user(client, "member")
    section = await client.get(f"/inquiries/{card_id}/knowledge")
    assert section.status_code == 200 and "转为知识库条目" in section.text

    made = await client.post(f"/inquiries/{card_id}/knowledge", headers=headers)
    assert made.status_code == 200, made.text
    entry = await FaqEntry.select().where(FaqEntry.source_card == card_id).first()
    assert entry["status"] == "draft" and entry["question"] == "医保报销需要哪些材料"
    assert entry["answer"] == ANSWER and entry["category"] == "policy"
    assert entry["department"] == world.departments["medicare"]
    assert entry["review_at"] > date.today()
    assert f"/knowledge/{entry['id']}" in made.text
    # Asked twice (a double click), the same entry.
    await client.post(f"/inquiries/{card_id}/knowledge", headers=headers)
    assert await FaqEntry.count() == 1 and await FaqVersion.count() == 1

    # A draft is nowhere public.
    await anonymous(client)
    assert "医保报销需要哪些材料" not in (await client.get("/faq", params={"q": "报销"})).text
    assert (await client.get(f"/faq/{entry['id']}")).status_code == 404

    # A member may not approve; the manager may.
    headers = await as_user(client, "member")
    refused = await client.post(f"/knowledge/{entry['id']}/approve", headers=headers)
    assert refused.status_code == 403 and (await entry_row(entry["id"]))["status"] == "draft"
    headers = await as_user(client, "manager")
    approved = await client.post(f"/knowledge/{entry['id']}/approve", headers=headers)
    assert approved.status_code in (200, 303)
    row = await entry_row(entry["id"])
    assert row["status"] == "approved" and row["approved_by"] == world.users["manager"]

    # An anonymous visitor finds it by searching 报销, without logging in.
    await anonymous(client)
    page = await client.get("/faq", params={"q": "报销"})
    assert page.status_code == 200 and page.url.path == "/faq"
    assert "医保报销需要哪些材料" in page.text and "发票原件" in page.text
    for internal in ("陈静", "张伟", "张三", "13800138000", f"/boards/{world.board_id}", "/knowledge"):
        assert internal not in page.text, internal
    one = await client.get(f"/faq/{entry['id']}")
    assert one.status_code == 200 and "发票原件" in one.text and "陈静" not in one.text
    assert (await entry_row(entry["id"]))["view_count"] == 1


async def test_an_inquiry_not_yet_answered_or_without_an_answer_makes_no_entry(world, client):
    handling = await inquiry(world, column="handling")
    unanswered = await inquiry(world, answer="")
    headers = await as_user(client, "member")
    section = await client.get(f"/inquiries/{handling}/knowledge")
    assert "转为知识库条目" not in section.text
    refused = await client.post(f"/inquiries/{handling}/knowledge", headers=headers)
    assert refused.status_code == 409 and "只有已答复的诉求" in refused.text
    refused = await client.post(f"/inquiries/{unanswered}/knowledge", headers=headers)
    assert refused.status_code == 409 and "还没有书面答复" in refused.text
    assert await FaqEntry.count() == 0
    # A viewer may read the board but not make entries; an outsider does not see the card.
    headers = await as_user(client, "viewer")
    card_id = await inquiry(world)
    assert (await client.post(f"/inquiries/{card_id}/knowledge", headers=headers)).status_code == 403
    assert await FaqEntry.count() == 0


# Editing, versions, approval ---------------------------------------------------------------------


async def test_every_edit_is_a_version_and_a_members_edit_of_an_approved_entry_needs_approval_again(world, client):
    entry_id = await make_entry(world, question="居住证怎么办理", answer="到派出所办理。", status="approved")
    headers = await as_user(client, "member")
    page = await client.get(f"/knowledge/{entry_id}")
    assert page.status_code == 200 and "居住证怎么办理" in page.text
    saved = await client.post(
        f"/knowledge/{entry_id}",
        data={"question": "居住证怎么办理？", "answer": "携带身份证到派出所办理，15个工作日制证。", "category": "help",
              "review_at": "", "department": "", "version": "2"},
        headers=headers,
    )  # fmt: skip
    assert saved.status_code in (200, 303), saved.text
    row = await entry_row(entry_id)
    assert row["status"] == "draft" and row["version"] == 3 and row["answer"].startswith("携带身份证")
    versions = await FaqVersion.select().where(FaqVersion.entry == entry_id).order_by(FaqVersion.version)
    assert [v["status"] for v in versions] == ["draft", "approved", "draft"]
    assert versions[0]["answer"] == "到派出所办理。" and versions[2]["answer"].startswith("携带身份证")
    history = await client.get(f"/knowledge/{entry_id}")
    assert "到派出所办理。" in history.text and "v3" in history.text

    # Out of public view until approved again; the manager's own edit keeps it approved.
    await anonymous(client)
    assert (await client.get(f"/faq/{entry_id}")).status_code == 404
    headers = await as_user(client, "manager")
    await client.post(f"/knowledge/{entry_id}/approve", headers=headers)
    await client.post(
        f"/knowledge/{entry_id}",
        data={"question": "居住证怎么办理？", "answer": "携带身份证到派出所办理。", "category": "help", "version": "4"},
        headers=headers,
    )
    row = await entry_row(entry_id)
    assert row["status"] == "approved" and row["version"] == 5
    # A save made from a page that is out of date is refused.
    stale = await client.post(
        f"/knowledge/{entry_id}",
        data={"question": "居住证怎么办理？", "answer": "旧页面上的修改", "category": "help", "version": "2"},
        headers=headers,
    )
    assert stale.status_code == 409 and (await entry_row(entry_id))["version"] == 5


async def test_approving_from_an_out_of_date_page_publishes_nothing_unread(world, client):
    entry_id = await make_entry(world, question="公积金怎么提取", answer="线上提取。")
    headers = await as_user(client, "manager")
    seen = (await entry_row(entry_id))["version"]
    # Meanwhile a member saves a new text: the manager's page still shows the old one.
    member = await get_active_user(world.users["member"])
    form = knowledge.EntryInput(question="公积金怎么提取", answer="未经审阅的新答复", category="policy", version=seen)
    await knowledge.update_entry(member, entry_id, form)
    refused = await client.post(f"/knowledge/{entry_id}/approve", data={"version": str(seen)}, headers=headers)
    assert refused.status_code == 409
    assert (await entry_row(entry_id))["status"] == "draft"
    # An editor who opens an approved entry and saves it unchanged does not unpublish it.
    await knowledge.approve(await get_active_user(world.users["manager"]), entry_id)
    row = await entry_row(entry_id)
    same = knowledge.EntryInput(
        question=row["question"], answer=row["answer"], category=row["category"], review_at=row["review_at"],
        department=row["department"], version=row["version"],
    )  # fmt: skip
    await knowledge.update_entry(member, entry_id, same)
    assert (await entry_row(entry_id))["status"] == "approved"


async def test_retiring_is_for_managers_and_takes_the_entry_off_the_public_page(world, client):
    entry_id = await make_entry(
        world, question="公积金提取需要什么条件", answer="购房、租房可提取。", status="approved"
    )
    headers = await as_user(client, "liaison")
    assert (await client.post(f"/knowledge/{entry_id}/retire", headers=headers)).status_code == 403
    headers = await as_user(client, "manager")
    assert (await client.post(f"/knowledge/{entry_id}/retire", headers=headers)).status_code in (200, 303)
    assert (await entry_row(entry_id))["status"] == "retired"
    await anonymous(client)
    assert (await client.get(f"/faq/{entry_id}")).status_code == 404
    assert "公积金提取需要什么条件" not in (await client.get("/faq", params={"q": "公积金"})).text


async def test_a_liaison_writes_her_own_departments_entries_only(world, client):
    medicare = world.departments["medicare"]
    own = await make_entry(world, question="医保卡丢了怎么补办", department=medicare)
    other = await make_entry(world, question="公交卡丢了怎么办")
    headers = await as_user(client, "liaison")
    data = {"question": "医保卡丢失怎么补办", "answer": "到银行网点补办。", "department": str(medicare)}
    assert (await client.post(f"/knowledge/{own}", data=data, headers=headers)).status_code in (200, 303)
    assert (await entry_row(own))["question"] == "医保卡丢失怎么补办"
    refused = await client.post(f"/knowledge/{other}", data=data, headers=headers)
    assert refused.status_code == 403 and (await entry_row(other))["question"] == "公交卡丢了怎么办"


# Bad input ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"question": ""}, "question", "请填写问题"),
        ({"question": "问" * 201}, "question", "请填写问题"),
        ({"answer": "   "}, "answer", "请填写答复"),
        ({"review_at": "2026-13-45"}, "review_at", "复核日期"),
        ({"review_at": (date.today() - timedelta(days=3)).isoformat()}, "review_at", "不能早于今天"),
        ({"category": "gossip"}, "category", "请选择类别"),
    ],
)
async def test_bad_input_gets_a_clear_message_and_changes_nothing(world, client, change, field, message):
    entry_id = await make_entry(world, question="社保怎么转移", answer="在新参保地申请转入。")
    before = await entry_row(entry_id)
    headers = await as_user(client, "member")
    data = {
        "question": "社保怎么转移？",
        "answer": "在新参保地申请转入。",
        "category": "policy",
        "version": "1",
        **change,
    }
    response = await client.post(f"/knowledge/{entry_id}", data=data, headers=headers)
    assert response.status_code == 422
    assert message in response.text and f'id="f-{field}"' in response.text
    assert await entry_row(entry_id) == before and await FaqVersion.count() == 1
    # Creating with the same input makes nothing either.
    response = await client.post("/knowledge", data=data, headers=headers)
    assert response.status_code == 422 and await FaqEntry.count() == 1


# Searching -----------------------------------------------------------------------------------------


async def test_search_finds_words_in_any_order_and_ranks_the_question_first(world):
    reimburse = await make_entry(
        world, question="医保报销需要哪些材料", answer="携带发票和清单办理。", status="approved"
    )
    remote = await make_entry(
        world, question="在外地住院怎么结算", answer="先办理异地就医备案，出院时直接报销。", status="approved"
    )
    fund = await make_entry(world, question="公积金提取条件", answer="购房、租房可提取。", status="approved")
    draft = await make_entry(world, question="异地就医报销草稿", answer="草稿")

    def ids(rows):
        return [row["id"] for row in rows]

    assert ids(await knowledge.public_entries("报销")) == [reimburse, remote]  # in the question first
    assert ids(await knowledge.public_entries("异地 报销")) == [remote]
    assert ids(await knowledge.public_entries("异地就医报销")) == [remote]
    assert ids(await knowledge.public_entries("公积金怎么提取？")) == [fund]
    assert ids(await knowledge.public_entries("护照")) == []
    assert draft not in ids(await knowledge.public_entries("草稿"))
    assert knowledge_search.terms("异地就医报销需要哪些材料") == ["异地就医", "报销", "材料"]
    assert knowledge_search.tokenizer() is knowledge_search.tokenizer()  # one per process


async def test_staff_find_approved_entries_while_answering_and_can_use_one(world, client):
    await make_entry(world, question="异地就医怎么报销", answer="先备案，再直接结算。", status="approved")
    await make_entry(world, question="异地报销草稿", answer="未审核的草稿答复")
    card_id = await inquiry(world, column="handling", title="在深圳住院能报销吗", answer="")
    await as_user(client, "member")
    section = await client.get(f"/inquiries/{card_id}/knowledge")
    assert "异地就医怎么报销" in section.text  # suggested from the inquiry's title
    found = await client.get(f"/inquiries/{card_id}/knowledge/search", params={"q": "异地 报销"})
    assert found.status_code == 200
    assert 'data-insert-answer="先备案，再直接结算。"' in found.text
    assert "未审核的草稿答复" not in found.text
    # An outsider's search of a card she cannot see: 404.
    client.cookies.clear()
    await factories.user("outsider", "member", "health")
    await login(client, "outsider")
    assert (await client.get(f"/inquiries/{card_id}/knowledge/search", params={"q": "报销"})).status_code == 404


async def test_the_staff_list_filters_and_flags_entries_due_for_review(world, client):
    due = await make_entry(world, question="养老金何时发放", answer="每月15日。", status="approved")
    await FaqEntry.update({FaqEntry.review_at: date.today() - timedelta(days=1)}).where(FaqEntry.id == due)
    await make_entry(world, question="失业金怎么领", answer="线上申领。")
    await as_user(client, "viewer")
    page = await client.get("/knowledge", params={"review": "due"})
    assert "养老金何时发放" in page.text and "失业金怎么领" not in page.text and "待复核" in page.text
    drafts = await client.get("/knowledge", params={"status": "draft"})
    assert "失业金怎么领" in drafts.text and "养老金何时发放" not in drafts.text
    assert "新建条目" not in drafts.text  # a viewer reads, never writes
    # Past its review date an approved entry is still public.
    await anonymous(client)
    assert "养老金何时发放" in (await client.get("/faq")).text


# The public page -----------------------------------------------------------------------------------


async def test_the_public_page_needs_no_login_and_shows_its_own_layout(world, client):
    entry_id = await make_entry(world, question="孩子打疫苗要预约吗", answer="需要提前预约。", status="approved")
    await anonymous(client)
    page = await client.get("/faq")
    assert page.status_code == 200 and "常见问题" in page.text and "孩子打疫苗要预约吗" in page.text
    assert 'name="viewport"' in page.text and "/my-work" not in page.text and "/boards" not in page.text
    assert (await client.get("/faq", params={"category": "policy"})).status_code == 200
    assert (await client.get(f"/faq/{entry_id}")).status_code == 200
    assert (await client.get("/faq/999999")).status_code == 404
    # The staff library is not public.
    staff = await client.get("/knowledge", follow_redirects=False)
    assert staff.status_code in (302, 303, 401)


async def test_the_demo_city_publishes_its_faq(world, client):
    departments = {code: await factories.department(code) for code in ("medicare", "hrss", "housing", "health")}
    departments["hotline"] = await factories.department("hotline")
    departments["transport"] = await factories.department("transport")
    created = await knowledge.seed_demo_entries(departments)
    assert created >= 8 and await knowledge.seed_demo_entries(departments) == 0
    await anonymous(client)
    page = await client.get("/faq", params={"q": "报销"})
    assert "医保报销需要哪些材料" in page.text and "异地就医报销怎么办理" in page.text
