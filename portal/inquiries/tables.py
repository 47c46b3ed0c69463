"""An inquiry's own fields, beside the common card (which routes it to departments), and the
steps of its loop (portal.inquiries.workflow): every action taken on the case, in order."""

from piccolo.columns import JSONB, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from portal.accounts.tables import Department, User
from portal.cards.tables import Card


class InquiryDetail(Table, tablename="inquiry_detail"):
    card = ForeignKey(references=Card, unique=True, index=True)
    citizen_name = Varchar(length=40, default="")
    citizen_phone = Varchar(length=20, default="")  # masked for those who may not see it
    citizen_id_number = Varchar(length=18, default="")  # 身份证号: masked like the phone
    channel = Varchar(length=16, null=True, default=None)  # how it came in: portal.core.choices.PLATFORMS
    category = Varchar(length=16, null=True, default=None)  # portal.core.choices.INQUIRY_CATEGORIES
    answer = Text(default="")
    # The loop (the state itself is the card's column: portal.inquiries.workflow.state_of)
    urgency = Varchar(length=8, default="")  # normal 一般, urgent 紧急, critical 特急; "" until accepted
    accepted_at = Timestamptz(null=True, default=None)
    instructions = Text(default="")  # the centre's 派单 instructions to the lead department
    verdict = Varchar(length=24, default="")  # the citizen's last verdict at follow-up
    reopen_count = Integer(default=0)  # 重办: reopened after a dissatisfied follow-up
    supervise_count = Integer(default=0)  # 督办 notices issued on the case
    master_card = Integer(null=True, default=None)  # merged under this case (its answer answers this one)


class InquiryStep(Table, tablename="inquiry_step"):
    """One action on a case (受理, 派单, 签收, 退单, 意见, 联系, 答复, 审核, 回访, 督办 …): the
    case's timeline and the figures per department read these rows."""

    card = ForeignKey(references=Card, index=True)
    board = Integer(index=True)
    action = Varchar(length=24)
    from_state = Varchar(length=16, default="")
    to_state = Varchar(length=16, default="")
    actor = ForeignKey(references=User, null=True)
    department = ForeignKey(references=Department, null=True)  # the department acting or addressed
    text = Text(default="")  # the reason, opinion, note, answer or instructions
    data = JSONB(default={})  # the action's other fields (verdict, urgency, departments …)
    due_at = Timestamptz(null=True, default=None)  # the deadline of the stage it started
    created_at = Timestamptz(default=TimestamptzNow(), index=True)  # verdicts and 督办 per period
