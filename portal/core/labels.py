"""Showing stored values to people: masked phone and ID numbers. (Display names of coded
values — roles, kinds, platforms, priorities … — come from ``portal.core.choices``.)"""

import re

# Numbers in free text, conservative on purpose: a mainland mobile (11 digits, 13x-19x) and
# an 18-character ID number with a plausible birth date, neither inside a longer run of
# digits. Other digit runs (order numbers, amounts, dates) stay as they are.
ID_IN_TEXT = re.compile(
    r"(?<![0-9A-Za-z])[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx](?![0-9A-Za-z])"
)
# A mainland mobile number as people write it: 13812345678, 138-1234-5678, 138 1234 5678, and
# after the country code (+8613812345678, +86 138…).
PHONE_IN_TEXT = re.compile(r"(?:(?<=\+86)|(?<!\d))1[3-9]\d(?:[ -]?\d{4}){2}(?!\d)")


def mask_phone(phone: str) -> str:
    """138****5678: enough to recognise a caller, not enough to call them."""
    return f"{phone[:3]}****{phone[-4:]}" if len(phone) >= 8 else "****"


def mask_id_number(number: str) -> str:
    """3301**********1234: the region and the check characters, not the birth date."""
    return f"{number[:4]}{'*' * 10}{number[-4:]}" if len(number) >= 12 else "****"


def mask_numbers(text: str) -> str:
    """The text with every mobile and ID number in it masked (see portal.inquiries.privacy)."""
    text = ID_IN_TEXT.sub(lambda match: mask_id_number(match.group()), text or "")
    return PHONE_IN_TEXT.sub(lambda match: mask_phone(match.group()), text)
