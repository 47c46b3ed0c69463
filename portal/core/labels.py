"""Showing stored values to people: masked phone numbers. (Display names of coded values —
roles, kinds, platforms, priorities … — come from ``portal.core.choices``.)"""


def mask_phone(phone: str) -> str:
    """138****5678: enough to recognise a caller, not enough to call them."""
    return f"{phone[:3]}****{phone[-4:]}" if len(phone) >= 8 else "****"
