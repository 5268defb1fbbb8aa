"""User management: create accounts, set role and scope, reset passwords, deactivate."""

from __future__ import annotations

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask import abort, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
)
from wtforms.validators import DataRequired, EqualTo, Length, Optional, ValidationError

from ..api.clients import client_accounts, is_client_account
from ..audit import record
from ..auth.passwords import password_problem
from ..auth.signin import normalise_email
from ..choices import Role
from ..extensions import db
from ..forms import MultiCheckboxField, QueryForm, options
from ..models import CouncilArea, CustodySuite, Organisation, User
from ..schemes.managing import scheme_options
from . import bp


def email_address(form, field) -> None:
    """A well-formed address. Not whether it can receive mail: internal and test domains
    (like the demo accounts' ``.test``) are accounts too."""
    try:
        validate_email(field.data or "", check_deliverability=False, test_environment=True)
    except EmailNotValidError:
        raise ValidationError("Enter an email address like name@example.org.") from None


class UserForm(FlaskForm):
    email = EmailField(
        "Email address",
        validators=[DataRequired("Enter the email address."), email_address, Length(max=254)],
    )
    name = StringField(
        "Full name", validators=[DataRequired("Enter the person's name."), Length(max=200)]
    )
    role = RadioField(
        "Role", choices=options(Role.choices()), validators=[DataRequired("Choose a role.")]
    )
    organisation_id = SelectField("Organisation (providers)", choices=[], validators=[Optional()])
    custody_suite_id = SelectField(
        "Custody suite (custody staff)", choices=[], validators=[Optional()]
    )
    area_ids = MultiCheckboxField("Council areas (area leads)", choices=[])
    manager = BooleanField("Manager")
    scheme_id = SelectField(
        "Lead of an arrest referral scheme", choices=[], validators=[Optional()]
    )
    active = BooleanField("Account active")
    # The account as the form was filled (``state_mark`` of ``account_values``).
    shown = HiddenField()


class NewUserForm(UserForm):
    password = PasswordField("Password", validators=[DataRequired("Enter a password.")])
    confirm = PasswordField(
        "Password again", validators=[EqualTo("password", "The two passwords do not match.")]
    )


class PasswordForm(FlaskForm):
    password = PasswordField("New password", validators=[DataRequired("Enter a password.")])
    confirm = PasswordField(
        "New password again", validators=[EqualTo("password", "The two passwords do not match.")]
    )


class UserFilterForm(QueryForm):
    q = StringField("Name or email", validators=[Optional(), Length(max=100)])
    role = SelectField("Role", choices=[], validators=[Optional()])
    status = SelectField(
        "Status",
        choices=options([("", "Any"), ("active", "Active"), ("inactive", "Deactivated")]),
        validators=[Optional()],
    )


def _prepare(form: UserForm) -> None:
    form.organisation_id.choices = options(
        [
            ("", "None"),
            *[
                (str(o.id), o.name)
                for o in db.session.scalars(sa.select(Organisation).order_by(Organisation.name))
            ],
        ]
    )
    form.custody_suite_id.choices = options(
        [
            ("", "None"),
            *[
                (str(s.id), s.name)
                for s in db.session.scalars(sa.select(CustodySuite).order_by(CustodySuite.name))
            ],
        ]
    )
    form.area_ids.choices = options(
        (str(c.id), c.name)
        for c in db.session.scalars(sa.select(CouncilArea).order_by(CouncilArea.name))
    )
    form.scheme_id.choices = options([("", "None"), *scheme_options(db.session)])


def _check_scope(form: UserForm) -> bool:
    ok = True
    if form.role.data == Role.CUSTODY and not form.custody_suite_id.data:
        form.custody_suite_id.errors.append("Custody staff need a custody suite.")
        ok = False
    if form.role.data == Role.PROVIDER and not form.organisation_id.data:
        form.organisation_id.errors.append("Providers need an organisation.")
        ok = False
    if form.role.data == Role.LEAD and not form.area_ids.data:
        form.area_ids.errors.append("Area leads need at least one council area.")
        ok = False
    return ok


def account_values(user: User) -> dict:
    """The account's values an administrator edits, as the audit log records a change
    and the edit form's mark (``state_mark``) reads them."""
    return {
        "name": user.name,
        "email": user.email,
        "role": user.role,
        "active": user.active,
        "organisation_id": user.organisation_id,
        "custody_suite_id": user.custody_suite_id,
        "areas": sorted(a.id for a in user.areas),
        "manager": user.manager,
        "scheme_id": user.scheme_id,
    }


def _apply(form: UserForm, user: User) -> dict:
    """Copy the form onto ``user``; return what changed, for the audit log."""
    role = Role(form.role.data)
    before = account_values(user)
    user.email = normalise_email(form.email.data)
    user.name = form.name.data.strip()
    user.role = role
    user.organisation_id = int(form.organisation_id.data) if role == Role.PROVIDER else None
    user.custody_suite_id = int(form.custody_suite_id.data) if role == Role.CUSTODY else None
    ids = [int(i) for i in form.area_ids.data or []] if role == Role.LEAD else []
    user.areas = list(db.session.scalars(sa.select(CouncilArea).where(CouncilArea.id.in_(ids))))
    user.scheme_id = int(form.scheme_id.data) if form.scheme_id.data else None
    user.active = bool(form.active.data)
    # Only custody staff and providers have a unit to supervise or manage.
    user.manager = bool(form.manager.data) and role in (Role.CUSTODY, Role.PROVIDER)
    after = account_values(user)
    return {k: [str(before[k]), str(after[k])] for k in after if before[k] != after[k]}


def _email_taken(email: str, user_id: int | None = None) -> bool:
    query = sa.select(User.id).where(User.email == normalise_email(email))
    if user_id is not None:
        query = query.where(User.id != user_id)
    return db.session.scalar(query) is not None


def _account_checks(form: UserForm, user_id: int | None = None) -> bool:
    """The checks beyond each box's own (the scope the role needs, an address already in
    use), run after the boxes' own checks whatever they found, so that every problem is
    shown at once; True when there are none."""
    ok = _check_scope(form)
    if not form.email.errors and _email_taken(form.email.data or "", user_id):
        form.email.errors.append("There is already an account with this email address.")
        ok = False
    return ok


@bp.get("/users")
def users():
    form = UserFilterForm(request.args)
    form.role.choices = options([("", "Any"), *Role.choices()])
    # API clients' own accounts are managed with the clients, not here.
    query = (
        sa.select(User)
        .where(User.id.not_in(client_accounts()))
        .options(
            selectinload(User.organisation),
            selectinload(User.custody_suite),
            selectinload(User.areas),
        )
    )
    if form.validate():
        if form.q.data:
            like = f"%{form.q.data.strip().lower()}%"
            query = query.where(sa.or_(sa.func.lower(User.name).like(like), User.email.like(like)))
        if form.role.data:
            query = query.where(User.role == form.role.data)
        if form.status.data == "active":
            query = query.where(User.active)
        elif form.status.data == "inactive":
            query = query.where(~User.active)
    found = db.session.scalars(query.order_by(User.active.desc(), User.name).limit(500)).all()
    schemes = dict(scheme_options(db.session))
    return render_template("admin/users.html", users=found, form=form, schemes=schemes)


@bp.route("/users/new", methods=["GET", "POST"])
def new_user():
    form = NewUserForm()
    _prepare(form)
    if not form.is_submitted():
        form.active.data = True
    if form.is_submitted():
        valid = form.validate()
        ok = _account_checks(form) and valid
        password = form.password.data
        if password and (problem := password_problem(password, form.email.data or "")):
            form.password.errors.append(problem)
            ok = False
        if ok:
            user = User(email="", name="", role=Role(form.role.data), password_hash="")
            _apply(form, user)
            user.set_password(form.password.data)
            db.session.add(user)
            try:
                db.session.flush()
            except IntegrityError:
                # Made by another administrator a moment ago (the check above raced it).
                db.session.rollback()
                form.email.errors.append("There is already an account with this email address.")
            else:
                record("user_created", user, detail={"role": user.role.value})
                db.session.commit()
                flash(
                    f"Account created for {user.email}. Tell them their password separately.",
                    "success",
                )
                return redirect(url_for("admin.users"))
    status = 400 if form.is_submitted() else 200
    return render_template("admin/user_form.html", form=form, user=None), status


def _user_or_404(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None or is_client_account(db.session, user_id):
        abort(404)
    return user
