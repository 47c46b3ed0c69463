"""Request structs for the account pages, each with its own validation."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from portal.accounts.tables import Role
from portal.core.forms import FormError, optional_int, text
from portal.i18n import LOCALES
from portal.i18n import gettext as _


def secret(data: Mapping[str, str], name: str) -> str:
    value = data.get(name, "")
    return value if isinstance(value, str) else ""


USERNAME_PATTERN = re.compile(r"^[a-z][a-z0-9_.-]{1,39}$")
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD_LENGTH = 10


COMMON_PASSWORDS_FILE = Path(__file__).with_name("common_passwords.txt")
# Shorter names ("li", "wu") occur inside too many good passwords to refuse them all.
MIN_USERNAME_LENGTH_TO_MATCH = 4


@cache
def _common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


def is_common_password(password: str) -> bool:
    """On the shipped list, as typed or with digits and punctuation taken off both ends."""
    lowered = password.strip().lower()
    common = _common_passwords()
    return lowered in common or lowered.strip("0123456789!@#$%^&*()_+-=.,;:?~ ") in common


def password_problem(password: str, username: str = "") -> str | None:
    """Why this new password is too easy to guess, or None. Length is checked separately."""
    lowered, name = password.lower(), username.strip().lower()
    if name and (lowered == name or (len(name) >= MIN_USERNAME_LENGTH_TO_MATCH and name in lowered)):
        return _("The password must not contain the user name.")
    if is_common_password(password):
        return _("This password is too common and easy to guess. Choose another one.")
    return None


def check_new_password(
    password: str, confirm: str, errors: dict[str, str], field: str = "password", username: str = ""
) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        errors[field] = _("Use at least %(n)s characters.", n=MIN_PASSWORD_LENGTH)
    elif len(password) > 200:
        errors[field] = _("Use at most 200 characters.")
    elif problem := password_problem(password, username):
        errors[field] = problem
    elif password != confirm:
        errors[field + "_confirm"] = _("The two passwords differ.")


@dataclass
class LoginForm:
    username: str
    password: str
    next_url: str

    @classmethod
    def parse(cls, data: Mapping[str, str]) -> LoginForm:
        next_url = text(data, "next")
        # Only local paths: an attacker's link must not bounce users elsewhere after login.
        if not next_url.startswith("/") or next_url.startswith("//") or "\\" in next_url:
            next_url = "/"
        form = cls(username=text(data, "username").lower(), password=secret(data, "password"), next_url=next_url)
        errors = {}
        if not form.username:
            errors["username"] = _("Enter your user name.")
        if not form.password:
            errors["password"] = _("Enter your password.")
        if errors:
            raise FormError(errors)
        return form


@dataclass
class UserForm:
    """Create or edit a user (admin)."""

    username: str
    display_name: str
    title: str
    email: str
    role: str
    department_id: int | None
    password: str

    @classmethod
    def parse(cls, data: Mapping[str, str], *, creating: bool) -> UserForm:
        form = cls(
            username=text(data, "username").lower(),
            display_name=text(data, "display_name"),
            title=text(data, "title"),
            email=text(data, "email"),
            role=text(data, "role"),
            department_id=optional_int(data.get("department_id")),
            password=secret(data, "password") if creating else "",
        )
        errors: dict[str, str] = {}
        if creating and not USERNAME_PATTERN.match(form.username):
            errors["username"] = _(
                "2–40 characters: lower-case letters, digits, dot, dash or underscore, starting with a letter."
            )
        if not form.display_name or len(form.display_name) > 60:
            errors["display_name"] = _("Enter a name of at most 60 characters.")
        if len(form.title) > 60:
            errors["title"] = _("Use at most 60 characters.")
        if form.email and (len(form.email) > 254 or not EMAIL_PATTERN.match(form.email)):
            errors["email"] = _("Enter a valid e-mail address, or leave it empty.")
        if form.role not in {role.value for role in Role}:
            errors["role"] = _("Choose a role.")
        elif form.role != Role.admin and form.department_id is None:
            errors["department_id"] = _("Everyone but an administrator belongs to a department.")
        if creating:
            check_new_password(form.password, secret(data, "password_confirm"), errors, username=form.username)
        if errors:
            raise FormError(errors)
        return form


@dataclass
class PasswordResetForm:
    password: str

    @classmethod
    def parse(cls, data: Mapping[str, str]) -> PasswordResetForm:
        errors: dict[str, str] = {}
        password = secret(data, "password")
        check_new_password(password, secret(data, "password_confirm"), errors)
        if errors:
            raise FormError(errors)
        return cls(password=password)


@dataclass
class PasswordChangeForm:
    current: str
    new: str

    @classmethod
    def parse(cls, data: Mapping[str, str], username: str = "") -> PasswordChangeForm:
        errors: dict[str, str] = {}
        current = secret(data, "current_password")
        if not current:
            errors["current_password"] = _("Enter your current password.")
        new = secret(data, "password")
        check_new_password(new, secret(data, "password_confirm"), errors, username=username)
        if errors:
            raise FormError(errors)
        return cls(current=current, new=new)


@dataclass
class LanguageForm:
    language: str

    @classmethod
    def parse(cls, data: Mapping[str, str]) -> LanguageForm:
        language = text(data, "language")
        if language not in LOCALES:
            raise FormError({"language": _("Choose a language.")})
        return cls(language=language)


@dataclass
class DepartmentForm:
    code: str
    name_zh: str
    name_en: str

    @classmethod
    def parse(cls, data: Mapping[str, str], *, creating: bool) -> DepartmentForm:
        form = cls(code=text(data, "code").lower(), name_zh=text(data, "name_zh"), name_en=text(data, "name_en"))
        errors: dict[str, str] = {}
        if creating and not re.match(r"^[a-z][a-z0-9_-]{1,39}$", form.code):
            errors["code"] = _("2–40 characters: lower-case letters, digits, dash or underscore.")
        if not form.name_zh or len(form.name_zh) > 80:
            errors["name_zh"] = _("Enter a Chinese name of at most 80 characters.")
        if not form.name_en or len(form.name_en) > 120:
            errors["name_en"] = _("Enter an English name of at most 120 characters.")
        if errors:
            raise FormError(errors)
        return form
