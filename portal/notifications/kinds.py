"""The kinds of notification, in the order the preferences page lists them."""

from portal.i18n import lazy_gettext as _l

KINDS = {
    "nudge": _l("Reminder before a deadline (催办)"),
    "due": _l("A deadline is reached"),
    "escalation": _l("Overdue escalation (督办), for managers"),
    "extension": _l("Extension requests and decisions"),
    "case": _l("Inquiry cases: routed to my department, sent back, reopened, supervised (派单、退回、重办、督办)"),
    "campaign": _l("Campaigns: plans to approve, approved or returned (活动方案审批)"),
    "task": _l("Campaign tasks: assigned to me, due soon, overdue (活动任务)"),
    "incident": _l("Incidents: statements to approve, approved or returned, instructions (舆情事件)"),
}
