"""Departments and users."""

from enum import StrEnum

from piccolo.columns import JSONB, Boolean, ForeignKey, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class Role(StrEnum):
    admin = "admin"
    manager = "manager"
    member = "member"
    liaison = "liaison"  # 部门联络员: acts on what is routed to their department
    viewer = "viewer"  # leaders and auditors: read only


class Language(StrEnum):
    zh_hans = "zh_Hans"
    en = "en"


class Department(Table, tablename="department"):
    code = Varchar(length=40, unique=True, index=True)
    name_zh = Varchar(length=80)
    name_en = Varchar(length=120)
    active = Boolean(default=True)
    created_at = Timestamptz(default=TimestamptzNow())


class User(Table, tablename="portal_user"):
    username = Varchar(length=40, unique=True, index=True)
    display_name = Varchar(length=60)
    title = Varchar(length=60, default="")
    email = Varchar(length=254, default="")
    password_hash = Varchar(length=200)
    role = Varchar(length=16, choices=Role, default=Role.member)
    department = ForeignKey(references=Department, null=True)
    language = Varchar(length=8, choices=Language, default=Language.zh_hans)
    active = Boolean(default=True)
    # Which notifications also go out by e-mail (in-app always shows everything).
    email_kinds = JSONB(default=["nudge", "due", "escalation", "extension", "mention"])
    created_at = Timestamptz(default=TimestamptzNow())
    last_login_at = Timestamptz(null=True, default=None)


class PersonalToken(Table, tablename="personal_token"):
    """A personal access token for the JSON API (``Authorization: Bearer …``).

    Only a SHA-256 of the token is stored: the token is shown once, when it is made."""

    user = ForeignKey(references=User, index=True)
    name = Varchar(length=80)
    token_hash = Varchar(length=64, unique=True)
    prefix = Varchar(length=12)  # the first characters, to tell tokens apart in lists
    created_at = Timestamptz(default=TimestamptzNow())
    last_used_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)
