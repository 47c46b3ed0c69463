"""Display names for stored codes (roles, board kinds, platforms …), translated when shown."""

from portal.i18n import lazy_gettext as _l

ROLE_LABELS = {
    "admin": _l("Administrator"),
    "manager": _l("Manager"),
    "member": _l("Member"),
    "liaison": _l("Department liaison"),
    "viewer": _l("Viewer"),
}

BOARD_KIND_LABELS = {
    "comments": _l("Comments"),
    "inquiries": _l("Inquiries"),
    "campaigns": _l("Campaigns"),
}

PLATFORM_LABELS = {
    "wechat": _l("WeChat"),
    "weibo": _l("Weibo"),
    "douyin": _l("Douyin"),
    "website": _l("Website"),
    "hotline": _l("12345 hotline"),
}

PRIORITY_LABELS = {
    "low": _l("Low"),
    "normal": _l("Normal"),
    "high": _l("High"),
    "urgent": _l("Urgent"),
}


def label(table: dict, code: str | None) -> str:
    return str(table.get(code, code or ""))


def mask_phone(phone: str) -> str:
    """138****5678: enough to recognise a caller, not enough to call them."""
    return f"{phone[:3]}****{phone[-4:]}" if len(phone) >= 8 else "****"
