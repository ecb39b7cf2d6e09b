"""Administration: switching accounts off and on keeps the records and is audited."""

from __future__ import annotations

import pytest
from helpers import PASSWORD, login, post
from sqlalchemy import select

from app.models import AuditEvent, Role, User


@pytest.fixture
def admin(signed_in):
    return signed_in(roles={Role.ADMIN})


def fresh(db, model, ident):
    db.rollback()  # end any open transaction, then forget what this session had loaded
    db.expire_all()
    return db.get(model, ident)


def events(db, action: str) -> list[AuditEvent]:
    db.rollback()
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_people_page_lists_everyone(client, admin, make_user):
    person = make_user(name="Ada Lovelace")
    page = client.get("/admin/users").get_data(as_text=True)
    assert "Ada Lovelace" in page and person.email in page


def test_deactivated_user_keeps_their_record_but_cannot_sign_in(app, client, db, admin, make_user):
    person = make_user(name="Grace Hopper")
    response = post(client, f"/admin/users/{person.id}/deactivate")
    assert response.status_code == 303
    assert response.location == "/admin/users"

    stored = fresh(db, User, person.id)
    assert stored is not None  # records stay
    assert stored.active is False
    assert stored.deactivated_at is not None
    assert "Grace Hopper" in client.get("/admin/users").get_data(as_text=True)

    refused = login(app.test_client(), person)
    assert refused.status_code == 401
    assert "do not match an active account" in refused.get_data(as_text=True)

    [event] = events(db, "user.deactivated")
    assert event.actor_id == admin.id
    assert event.subject_type == "users"
    assert event.subject_id == str(person.id)


def test_reactivated_user_can_sign_in_again(app, client, db, admin, make_user):
    person = make_user()
    assert post(client, f"/admin/users/{person.id}/deactivate").status_code == 303
    response = post(client, f"/admin/users/{person.id}/reactivate")
    assert response.status_code == 303
    assert response.location == "/admin/users"
    stored = fresh(db, User, person.id)
    assert stored.active is True
    assert stored.deactivated_at is None
    assert login(app.test_client(), person, PASSWORD).status_code == 303
    [event] = events(db, "user.reactivated")
    assert event.actor_id == admin.id and event.subject_id == str(person.id)


def test_deactivating_twice_records_one_event(client, db, admin, make_user):
    person = make_user()
    for _ in range(2):
        assert post(client, f"/admin/users/{person.id}/deactivate").status_code == 303
    assert len(events(db, "user.deactivated")) == 1


def test_admin_cannot_deactivate_themselves(client, db, admin):
    response = post(client, f"/admin/users/{admin.id}/deactivate")
    assert response.status_code == 409
    assert "your own account" in response.get_data(as_text=True)
    assert fresh(db, User, admin.id).active is True
    assert client.get("/admin/users").status_code == 200  # still signed in
    assert events(db, "user.deactivated") == []


@pytest.mark.parametrize(
    "roles",
    [{Role.LEARNER}, {Role.HR}, {Role.TRAINER}, {Role.LEARNER, Role.HR}],
    ids=lambda r: "+".join(sorted(r)),
)
def test_non_admin_cannot_deactivate(client, db, signed_in, make_user, roles):
    signed_in(roles=roles)
    person = make_user()
    response = post(client, f"/admin/users/{person.id}/deactivate")
    assert response.status_code == 403
    assert fresh(db, User, person.id).active is True
    assert events(db, "user.deactivated") == []


def test_non_admin_cannot_reactivate(client, db, signed_in, make_user):
    person = make_user(active=False)
    signed_in(roles={Role.HR})
    assert post(client, f"/admin/users/{person.id}/reactivate").status_code == 403
    assert fresh(db, User, person.id).active is False


def test_anonymous_cannot_deactivate(client, db, make_user):
    person = make_user()
    response = post(client, f"/admin/users/{person.id}/deactivate")
    assert response.status_code == 303
    assert response.location.startswith("/login")
    assert fresh(db, User, person.id).active is True


@pytest.mark.parametrize("action", ["deactivate", "reactivate"])
def test_unknown_user_is_not_found(client, db, admin, action):
    response = post(client, f"/admin/users/999999/{action}")
    assert response.status_code == 404
    assert events(db, f"user.{action}d") == []


@pytest.mark.parametrize("path", ["/admin/users/{id}/deactivate", "/hr/employees/{id}/deactivate"])
def test_both_screens_apply_the_same_deactivation_rules(client, db, admin, make_user, path):
    other_admin = make_user(roles={Role.ADMIN})
    assert post(client, path.format(id=other_admin.id)).status_code == 303
    assert fresh(db, User, other_admin.id).active is False
    own = post(client, path.format(id=admin.id))
    assert own.status_code == 409 and "your own account" in own.get_data(as_text=True)
    assert fresh(db, User, admin.id).active is True


def test_hr_cannot_deactivate_or_reactivate_an_admin(client, db, signed_in, make_user):
    signed_in(roles={Role.HR})
    admin = make_user(roles={Role.ADMIN})
    refused = post(client, f"/hr/employees/{admin.id}/deactivate")
    assert refused.status_code == 403
    assert "Only an administrator can deactivate" in refused.get_data(as_text=True)
    assert fresh(db, User, admin.id).active is True
    dormant = make_user(roles={Role.ADMIN}, active=False)
    assert post(client, f"/hr/employees/{dormant.id}/reactivate").status_code == 403
    assert fresh(db, User, dormant.id).active is False
