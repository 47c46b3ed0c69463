"""An inquiry's own fields, beside the common card (which routes it to departments)."""

from piccolo.columns import ForeignKey, Text, Varchar
from piccolo.table import Table

from portal.cards.tables import Card


class InquiryDetail(Table, tablename="inquiry_detail"):
    card = ForeignKey(references=Card, unique=True, index=True)
    citizen_name = Varchar(length=40, default="")
    citizen_phone = Varchar(length=20, default="")  # masked for those who may not see it
    channel = Varchar(length=16, null=True, default=None)  # how it came in: portal.core.choices.PLATFORMS
    category = Varchar(length=16, null=True, default=None)  # portal.core.choices.INQUIRY_CATEGORIES
    answer = Text(default="")
