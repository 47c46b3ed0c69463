"""Masked numbers sent back in a card's text are put back as the numbers they stand for,
whatever stands beside them, so that a save by someone who saw only masks stores no mask."""

import pytest

from portal.inquiries.privacy import mask_text, restore_text


@pytest.mark.parametrize(
    "text",
    [
        "市民13812345678反映",
        "Tel13812345678 请回电",
        "wx13812345678",
        "号码13812345678x",
        "身份证330102199001011234号",
        "两个号码13812345678和13912345678",
        "电话138-1234-5678",
        "电话 138 1234 5678 联系",
        "+8613812345678",
        "+86 139-1234-5678",
    ],
)
def test_a_masked_text_sent_back_restores_every_number(text):
    masked = mask_text(text)
    assert "*" in masked and masked != text
    assert restore_text(text, masked) == text
    assert restore_text(text, masked + "，已联系") == text + "，已联系"  # an edit around the masks keeps them


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("电话138-1234-5678", "电话138****5678"),
        ("电话 138 1234 5678 联系", "电话 138****5678 联系"),
        ("+8613812345678", "+86138****5678"),
        ("订单号 2023-1234-5678 不是手机号", "订单号 2023-1234-5678 不是手机号"),
        ("12345 热线", "12345 热线"),
        ("138123456789 多了一位", "138123456789 多了一位"),
    ],
)
def test_mobile_numbers_are_masked_however_they_are_written(text, masked):
    assert mask_text(text) == masked
