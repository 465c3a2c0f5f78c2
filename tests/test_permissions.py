"""Team-mode permissions over real stores (SQLite and PostgreSQL): the effective-permission
rule, creators' MANAGE, granting no more than one holds, and searches that show only what the
viewer may read (filtered in SQL, before paging)."""

from __future__ import annotations

import pytest

from labtrack.entities.permissions import (
    EDIT,
    EXPERIMENT,
    GROUP,
    MANAGE,
    NO_PERMISSIONS,
    READ,
    REGISTERED_MODEL,
    USE,
    USER,
    Decision,
    Principal,
    Viewer,
    effective_permission,
    parse_permission,
)
from labtrack.errors import LabtrackException
from labtrack.service.permissions import PermissionService, Resource

ALICE = Principal("alice", ("team",))
BOB = Principal("bob", ("team",))
CAROL = Principal("carol")
ADMIN = Principal("root", (), is_admin=True)


def test_levels_are_mlflows() -> None:
    assert [p.name for p in (NO_PERMISSIONS, READ, USE, EDIT, MANAGE)] == [
        "NO_PERMISSIONS",
        "READ",
        "USE",
        "EDIT",
        "MANAGE",
    ]
    table = {
        p.name: (p.can_read, p.can_use, p.can_update, p.can_delete, p.can_manage)
        for p in (NO_PERMISSIONS, READ, USE, EDIT, MANAGE)
    }
    assert table == {
        "NO_PERMISSIONS": (False, False, False, False, False),
        "READ": (True, False, False, False, False),
        "USE": (True, True, False, False, False),
        "EDIT": (True, True, True, False, False),
        "MANAGE": (True, True, True, True, True),
    }
    assert parse_permission("edit") is EDIT
    with pytest.raises(LabtrackException) as err:
        parse_permission("OWNER")
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"
    assert "permission" in err.value.message


def test_the_rule_in_memory() -> None:
    assert effective_permission(ADMIN, ["NO_PERMISSIONS"], READ) is MANAGE
    assert effective_permission(BOB, [], READ) is READ
    assert effective_permission(BOB, [], NO_PERMISSIONS) is NO_PERMISSIONS
    # The highest of the user's and their groups' grants, whatever the default.
    assert effective_permission(BOB, ["NO_PERMISSIONS", "EDIT"], READ) is EDIT
    assert effective_permission(BOB, ["NO_PERMISSIONS"], MANAGE) is NO_PERMISSIONS


def test_explain_says_where_the_level_comes_from(service, perms) -> None:  # type: ignore[no-untyped-def]
    """The dialog's "effective level" is the checks' own rule: ``explain`` is what
    ``effective`` (every check) returns the level of."""
    eid = _as(service, ALICE).create_experiment("explained")
    exp = Resource(EXPERIMENT, eid)
    assert perms.explain(ALICE, exp) == Decision(MANAGE, "direct")
    assert perms.explain(ADMIN, exp) == Decision(MANAGE, "admin")
    assert perms.explain(BOB, exp) == Decision(READ, "default")
    perms.set_grant(ALICE, exp, USER, "bob", "USE")
    assert perms.explain(BOB, exp) == Decision(USE, "direct")
    # A group's higher grant decides, and is named; on a tie one's own grant is named.
    perms.set_grant(ALICE, exp, GROUP, "team", "EDIT")
    assert perms.explain(BOB, exp) == Decision(EDIT, "group", "team")
    assert perms.effective(BOB, exp) is EDIT
    perms.set_grant(ALICE, exp, USER, "bob", "EDIT")
    assert perms.explain(BOB, exp) == Decision(EDIT, "direct")
    perms.set_grant(ALICE, exp, USER, "bob", "NO_PERMISSIONS")
    perms.set_grant(ALICE, exp, GROUP, "team", "NO_PERMISSIONS")
    assert perms.explain(BOB, exp) == Decision(NO_PERMISSIONS, "direct")
    # Two groups: the higher one, then the first by name.
    two = Principal("dan", ("zeta", "alpha"))
    perms.set_grant(ALICE, exp, GROUP, "zeta", "USE")
    perms.set_grant(ALICE, exp, GROUP, "alpha", "USE")
    assert perms.explain(two, exp) == Decision(USE, "group", "alpha")
    perms.set_grant(ALICE, exp, GROUP, "zeta", "EDIT")
    assert perms.explain(two, exp) == Decision(EDIT, "group", "zeta")


@pytest.fixture
def perms(service):  # type: ignore[no-untyped-def]
    return PermissionService(service, READ)


def _as(service, principal: Principal, default=READ):  # type: ignore[no-untyped-def]
    return service.as_viewer(Viewer(principal, default))


def test_creator_gets_manage_and_the_rule_holds_in_the_database(service, perms) -> None:  # type: ignore[no-untyped-def]
    eid = _as(service, ALICE).create_experiment("alice-exp")
    exp = Resource(EXPERIMENT, eid)
    assert perms.effective(ALICE, exp) is MANAGE
    assert perms.effective(BOB, exp) is READ  # the default
    assert perms.effective(ADMIN, exp) is MANAGE

    # A group grant lifts every member; the user's own lower grant does not lower it.
    perms.set_grant(ALICE, exp, GROUP, "team", "EDIT")
    perms.set_grant(ALICE, exp, USER, "bob", "NO_PERMISSIONS")
    assert perms.effective(BOB, exp) is EDIT
    assert perms.effective(CAROL, exp) is READ  # not in the group: the default
    perms.delete_grant(ALICE, exp, GROUP, "team")
    assert perms.effective(BOB, exp) is NO_PERMISSIONS  # an explicit grant beats the default

    model = _as(service, BOB).registry.create_registered_model("bobs-model")
    res = Resource(REGISTERED_MODEL, model.name)
    assert perms.effective(BOB, res) is MANAGE
    assert perms.effective(ALICE, res) is READ
    # Grants follow a rename and go with a delete.
    service.registry.rename_registered_model("bobs-model", "renamed")
    assert perms.effective(BOB, Resource(REGISTERED_MODEL, "renamed")) is MANAGE
    service.registry.delete_registered_model("renamed")
    service.registry.create_registered_model("renamed")
    assert perms.effective(BOB, Resource(REGISTERED_MODEL, "renamed")) is READ


def test_no_one_grants_more_than_they_hold(service, perms) -> None:  # type: ignore[no-untyped-def]
    eid = _as(service, ALICE).create_experiment("guarded")
    exp = Resource(EXPERIMENT, eid)
    perms.set_grant(ALICE, exp, USER, "bob", "EDIT")
    for level in ("EDIT", "READ", "MANAGE"):  # bob holds EDIT: no MANAGE, so no grants at all
        with pytest.raises(LabtrackException) as err:
            perms.set_grant(BOB, exp, USER, "carol", level)
        assert err.value.error_code == "PERMISSION_DENIED"
    with pytest.raises(LabtrackException):
        perms.set_grant(BOB, exp, USER, "bob", "MANAGE")  # nor to himself
    assert perms.effective(BOB, exp) is EDIT
    assert perms.effective(CAROL, exp) is READ
    # A MANAGE holder grants up to MANAGE; admins anything.
    perms.set_grant(ALICE, exp, USER, "carol", "MANAGE")
    perms.set_grant(ADMIN, exp, USER, "bob", "NO_PERMISSIONS")
    assert perms.effective(BOB, exp) is NO_PERMISSIONS
    with pytest.raises(LabtrackException) as err:
        perms.set_grant(ALICE, Resource(EXPERIMENT, "987654"), USER, "bob", "READ")
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_searches_show_only_what_the_viewer_may_read(service, perms) -> None:  # type: ignore[no-untyped-def]
    alice = _as(service, ALICE)
    hidden = alice.create_experiment("hidden")
    shown = [alice.create_experiment(f"shown-{i}") for i in range(3)]
    perms.set_grant(ALICE, Resource(EXPERIMENT, hidden), GROUP, "team", "NO_PERMISSIONS")
    run_hidden = alice.create_run(hidden, "alice").info.run_id
    for eid in shown:
        alice.create_run(eid, "alice")
    bob = _as(service, BOB)

    names = [e.name for e in bob.search_experiments()]
    assert "hidden" not in names
    assert {"shown-0", "shown-1", "shown-2", "Default"} <= set(names)
    # Paging counts only what bob sees: pages of 1 walk every visible experiment exactly once.
    seen, token = [], None
    while True:
        page = bob.search_experiments(max_results=1, page_token=token)
        seen += [e.name for e in page]
        token = page.token
        if not token:
            break
    assert sorted(seen) == sorted(names)
    assert all(len(page) for page in [seen])

    assert [r.info.run_id for r in bob.search_runs([hidden])] == []
    assert len(bob.search_runs([hidden, *shown])) == 3
    assert len(alice.search_runs([hidden, *shown])) == 4
    assert bob.count_runs([hidden, shown[0]]) == {shown[0]: 1}
    cursor, _ = service.changes_since(None)
    alice.log_param(run_hidden, "p", "1")
    _, bob_changes = bob.changes_since(0)
    assert all(c["experiment_id"] != hidden for c in bob_changes)
    _, alice_changes = alice.changes_since(0)
    assert any(c["experiment_id"] == hidden for c in alice_changes)
    new_cursor, _ = bob.changes_since(cursor)
    assert new_cursor > cursor  # bob's poll moves past what he may not see

    # With a default of NO_PERMISSIONS, only grants open anything.
    closed = _as(service, CAROL, NO_PERMISSIONS)
    assert [e.name for e in closed.search_experiments()] == []
    perms.set_grant(ALICE, Resource(EXPERIMENT, shown[1]), USER, "carol", "READ")
    assert [e.name for e in closed.search_experiments()] == ["shown-1"]

    # Registry searches too.
    alice.registry.create_registered_model("secret-model")
    alice.registry.create_registered_model("open-model")
    perms.set_grant(
        ALICE, Resource(REGISTERED_MODEL, "secret-model"), USER, "bob", "NO_PERMISSIONS"
    )
    assert [m.name for m in bob.registry.search_registered_models()] == ["open-model"]
    assert {m.name for m in alice.registry.search_registered_models()} == {
        "open-model",
        "secret-model",
    }
    # The admin sees everything.
    assert "hidden" in [e.name for e in _as(service, ADMIN).search_experiments()]


def test_model_versions_and_logged_models_searches_are_filtered(service, perms) -> None:  # type: ignore[no-untyped-def]
    alice = _as(service, ALICE)
    bob = _as(service, BOB)
    alice.registry.create_registered_model("private")
    alice.registry.create_registered_model("public")
    for name in ("private", "public"):
        alice.registry.create_model_version(name, "mlflow-artifacts:/0/r/artifacts/model")
    perms.set_grant(ALICE, Resource(REGISTERED_MODEL, "private"), GROUP, "team", "NO_PERMISSIONS")
    assert [mv.name for mv in bob.registry.search_model_versions()] == ["public"]
    assert {mv.name for mv in alice.registry.search_model_versions()} == {"private", "public"}
    # A page of one counts only what bob sees: one page, no token for a hidden row.
    page = bob.registry.search_model_versions(max_results=1)
    assert [mv.name for mv in page] == ["public"]
    assert page.token is None

    hidden = alice.create_experiment("models-hidden")
    shown = alice.create_experiment("models-shown")
    perms.set_grant(ALICE, Resource(EXPERIMENT, hidden), USER, "bob", "NO_PERMISSIONS")
    for eid in (hidden, shown):
        alice.logged_models.create_logged_model(eid, name=f"m-{eid}")
    found = bob.logged_models.search_logged_models([hidden, shown])
    assert [m.experiment_id for m in found] == [shown]
    assert len(alice.logged_models.search_logged_models([hidden, shown])) == 2


def test_changing_a_grant_keeps_its_id(service, perms) -> None:  # type: ignore[no-untyped-def]
    """MLflow's roles API names a group's grant by number: updating it must not renumber it."""
    eid = _as(service, ALICE).create_experiment("numbered")
    exp = Resource(EXPERIMENT, eid)
    first = perms.set_grant(ALICE, exp, GROUP, "team", "EDIT")
    second = perms.set_grant(ALICE, exp, GROUP, "team", "READ")
    assert first.id == second.id
    assert second.permission == "READ"
    assert service.store.permissions.by_id(first.id)["permission"] == "READ"
