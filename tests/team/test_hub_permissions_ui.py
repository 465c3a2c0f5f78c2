"""The permissions dialog in users' JupyterLab, through the real hub (issue 15, item 4).

alice creates an experiment (she holds MANAGE); in her JupyterLab she opens "Permissions…" on it
and, with the keyboard and the mouse, makes it private to the team (group ``team``: no access),
grants bob USE then changes it to EDIT, grants the hub group ``reviewers`` READ and revokes it.
After each step the service is asked over REST, with bob's and erin's own hub tokens, what they
may now do. erin is a team member created here, alone in ``reviewers``: carol, the fixture's
outsider, is not admitted by the hub at all (admission is the hub's; a grant cannot change it).
bob, with EDIT, sees the grants read-only and the service refuses his grant (403). When an admin
lowers alice's level while her dialog is open, her next grant shows the service's refusal.
The registered model's dialog opens from the registry view. Each row also says what its grantee
holds in effect and why (own grant, via a hub group, team default), as the service computes it;
the grant form suggests hub names as one types and grants no name the hub does not know.
Screenshots light and dark (ui-tests/test-results/team-perm-*.png), and the contrast of every
text of the dialog.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from hub_browser import (
    RESULTS,
    THEME_SETTINGS,
    THEMES,
    contrast_offenders,
    new_page,
    no_news,
    open_lab,
)
from hub_fixtures import ADMIN, Hub, http

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

playwright_api = pytest.importorskip("playwright.sync_api")
Browser = playwright_api.Browser
Locator = playwright_api.Locator
Page = playwright_api.Page
expect = playwright_api.expect

MLFLOW = "/api/2.0/mlflow"
GRANTS = "/api/3.0/mlflow/users/permissions"
EXPERIMENT = f"perm-ui-{uuid.uuid4().hex[:6]}"
MODEL = f"perm-ui-model-{uuid.uuid4().hex[:6]}"
MEMBER = "erin"  # a team member alone in the group REVIEWERS
REVIEWERS = "reviewers"


def as_user(hub: Hub, user: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    return http(method, hub.service_url + path, token=hub.tokens[user], body=body)


def can_read(hub: Hub, user: str, eid: str) -> bool:
    status, body = as_user(hub, user, "GET", MLFLOW + f"/experiments/get?experiment_id={eid}")
    assert status in (200, 403), body
    return status == 200


def can_log(hub: Hub, user: str, eid: str) -> bool:
    """Creating a run needs EDIT (a refused create changes nothing)."""
    status, body = as_user(hub, user, "POST", MLFLOW + "/runs/create", {"experiment_id": eid})
    assert status in (200, 403), body
    return status == 200


def grant_as(hub: Hub, user: str, eid: str, level: str, **grantee: str) -> None:
    body = {"resource_type": "experiment", "resource_id": eid, "permission": level, **grantee}
    status, answer = as_user(hub, user, "POST", GRANTS + "/grant", body)
    assert status == 200, answer


@pytest.fixture(scope="module")
def team(hub: Hub) -> dict[str, str]:
    """erin in ``team`` and ``reviewers``; alice's experiment and registered model."""
    hub.hub_api("POST", "users", {"usernames": [MEMBER]})
    hub.hub_api("POST", f"groups/{REVIEWERS}", {"users": [MEMBER]})
    hub.hub_api("POST", "groups/team/users", {"users": [MEMBER]})
    hub.tokens[MEMBER] = hub.new_token(MEMBER)
    status, body = as_user(
        hub, "alice", "POST", MLFLOW + "/experiments/create", {"name": EXPERIMENT}
    )
    assert status == 200, body
    eid = str(body["experiment_id"])
    status, body = as_user(
        hub, "alice", "POST", MLFLOW + "/registered-models/create", {"name": MODEL}
    )
    assert status == 200, body
    for user in ("alice", "bob"):
        no_news(hub, user)
    return {"experiment_id": eid}


def open_dialog_of_experiment(page: Page, name: str = EXPERIMENT) -> Locator:
    card = page.locator(".jp-LauncherCard").filter(
        has=page.locator(".jp-LauncherCard-label", has_text="labtrack")
    )
    card.first.click()
    dashboard = page.locator(".lt-Dashboard")
    item = dashboard.locator(f'.lt-experiment-item[data-experiment-name="{name}"]')
    item.click()
    expect(item).to_have_attribute("aria-pressed", "true")
    opener = dashboard.locator(".lt-RunsTitle .lt-PermissionsButton")
    expect(opener).to_be_visible()
    opener.focus()
    page.keyboard.press("Enter")  # keyboard: the button opens the dialog
    dialog = page.locator(".jp-Dialog")
    expect(dialog.locator(".jp-Dialog-header")).to_contain_text(name)
    body = dialog.locator(".lt-Permissions")
    expect(body.locator(".lt-PermissionsSummary")).to_contain_text("Your level:")
    return body


def row(body: Locator, kind: str, name: str) -> Locator:
    return body.locator(f'.lt-GrantRow[data-grantee-kind="{kind}"][data-grantee="{name}"]')


def grant_in_dialog(body: Locator, kind: str, name: str, level: str, *, enter: bool) -> None:
    body.locator(".lt-GrantKind").select_option(kind)
    body.locator(".lt-GrantName").fill(name)
    body.locator(".lt-GrantLevel").select_option(level)
    if enter:
        body.locator(".lt-GrantName").press("Enter")
    else:
        body.locator(".lt-GrantButton").click()
    expect(row(body, kind, name)).to_have_attribute("data-permission", level)
    expect(body.locator(".lt-GrantName")).to_have_value("")


def check_contrast(page: Page, what: str) -> None:
    result = contrast_offenders(page, [".jp-Dialog-content"])
    assert result["checked"] > 10, result
    assert result["offenders"] == [], (what, result["offenders"])


def set_theme(hub: Hub, user: str, theme: str | None) -> None:
    raw = f'{{"theme": "{THEMES[theme]}"}}' if theme else "{}"
    status, body = http(
        "PUT",
        hub.server_url(user) + THEME_SETTINGS,
        token=hub.tokens[user],
        body={"raw": raw},
    )
    assert status in (200, 204), body


def test_alice_grants_and_revokes_in_the_dialog(
    hub: Hub, browser: Browser, team: dict[str, str]
) -> None:
    eid = team["experiment_id"]
    # The team's default (READ): erin and bob read, neither logs.
    assert can_read(hub, MEMBER, eid)
    assert not can_log(hub, "bob", eid)
    hub.start_server("alice")
    set_theme(hub, "alice", "light")
    page = new_page(browser)
    try:
        open_lab(page, hub, "alice")
        body = open_dialog_of_experiment(page)
        me = row(body, "user", "alice")
        expect(me).to_have_attribute("data-permission", "MANAGE")
        expect(me.locator(".lt-GranteeYou")).to_have_text("(you)")
        # Focus starts in the name field: type, Enter grants (and does not close the dialog).
        expect(body.locator(".lt-GrantName")).to_be_focused()

        grant_in_dialog(body, "group", "team", "NO_PERMISSIONS", enter=True)
        assert not can_read(hub, MEMBER, eid)
        assert not can_read(hub, "bob", eid)

        grant_in_dialog(body, "user", "bob", "USE", enter=False)
        assert can_read(hub, "bob", eid)
        assert not can_log(hub, "bob", eid)
        # Change bob's level in his row.
        row(body, "user", "bob").locator(".lt-RowLevel").select_option("EDIT")
        expect(row(body, "user", "bob")).to_have_attribute("data-permission", "EDIT")
        assert can_log(hub, "bob", eid)

        grant_in_dialog(body, "group", REVIEWERS, "READ", enter=False)
        assert can_read(hub, MEMBER, eid)
        assert not can_log(hub, MEMBER, eid)
        expect(body.locator(".lt-GrantRow")).to_have_count(4)
        page.screenshot(path=str(RESULTS / "team-perm-01-alice-dialog-light.png"))
        check_contrast(page, "light")

        # Revoke the group's grant (keyboard: focus the button, Enter).
        revoke = row(body, "group", REVIEWERS).locator(".lt-RevokeGrant")
        revoke.focus()
        page.keyboard.press("Enter")
        expect(row(body, "group", REVIEWERS)).to_have_count(0)
        assert not can_read(hub, MEMBER, eid)
        expect(page.locator(".jp-Dialog")).to_have_count(1)  # still open
        page.keyboard.press("Escape")
        expect(page.locator(".jp-Dialog")).to_have_count(0)

        # Dark theme: the same dialog, readable.
        set_theme(hub, "alice", "dark")
        page.goto(f"{hub.server_url('alice')}/lab?reset")
        expect(page.locator("body")).to_have_attribute("data-jp-theme-light", "false")
        body = open_dialog_of_experiment(page)
        expect(body.locator(".lt-GrantRow")).to_have_count(3)
        # An admin lowers alice to EDIT while her dialog is open: her next grant is refused,
        # and the dialog says why and turns read-only.
        grant_as(hub, ADMIN, eid, "EDIT", username="alice")
        body.locator(".lt-GrantName").fill(REVIEWERS)
        body.locator(".lt-GrantKind").select_option("group")
        body.locator(".lt-GrantButton").click()
        error = body.locator(".lt-PermissionsError")
        expect(error).to_be_visible()
        expect(error.locator(".lt-ErrorTitle")).to_have_text("Not allowed")
        expect(error.locator(".lt-ErrorMessage")).to_contain_text(
            "'alice' holds EDIT on experiment"
        )
        expect(body.locator(".lt-PermissionsGrant")).to_be_hidden()
        expect(body.locator(".lt-RevokeGrant")).to_have_count(0)
        assert not can_read(hub, MEMBER, eid)
        page.screenshot(path=str(RESULTS / "team-perm-02-alice-refused-dark.png"))
        check_contrast(page, "dark (refused)")
        grant_as(hub, ADMIN, eid, "MANAGE", username="alice")
        page.keyboard.press("Escape")

        # The registered model's dialog, from the registry view.
        page.locator(".lt-ViewTab[data-view='models']").click()
        page.locator(f'.lt-ModelItem[data-model-name="{MODEL}"]').click()
        page.locator(".lt-ModelTitleRow .lt-PermissionsButton").click()
        dialog = page.locator(".jp-Dialog")
        expect(dialog.locator(".jp-Dialog-header")).to_contain_text(MODEL)
        model_body = dialog.locator(".lt-Permissions")
        expect(row(model_body, "user", "alice")).to_have_attribute("data-permission", "MANAGE")
        expect(model_body.locator(".lt-GrantName")).to_be_focused()
        page.screenshot(path=str(RESULTS / "team-perm-03-alice-model-dark.png"))
        check_contrast(page, "dark (model)")
        page.keyboard.press("Escape")
    except Exception:
        page.screenshot(path=str(RESULTS / "team-perm-00-alice-failed.png"))
        raise
    finally:
        set_theme(hub, "alice", None)
        page.context.close()


def test_bob_sees_the_grants_but_cannot_change_them(
    hub: Hub, browser: Browser, team: dict[str, str]
) -> None:
    eid = team["experiment_id"]
    grant_as(hub, "alice", eid, "EDIT", username="bob")  # as the test above left it
    hub.start_server("bob")
    page = new_page(browser)
    try:
        open_lab(page, hub, "bob")
        body = open_dialog_of_experiment(page)
        expect(row(body, "user", "bob")).to_have_attribute("data-permission", "EDIT")
        expect(row(body, "user", "alice")).to_have_attribute("data-permission", "MANAGE")
        expect(body.locator(".lt-PermissionsSummary")).to_contain_text(
            "only Manage changes permissions"
        )
        expect(body.locator(".lt-PermissionsGrant")).to_be_hidden()
        expect(body.locator(".lt-RowLevel")).to_have_count(0)
        expect(body.locator(".lt-RevokeGrant")).to_have_count(0)
        page.screenshot(path=str(RESULTS / "team-perm-04-bob-read-only.png"))
        page.keyboard.press("Escape")
    finally:
        page.context.close()
    # What a dialog of bob's would send, through his own Jupyter server: refused.
    status, body = http(
        "POST",
        f"{hub.server_url('bob')}/labtrack{GRANTS}/grant",
        token=hub.tokens["bob"],
        body={
            "resource_type": "experiment",
            "resource_id": eid,
            "permission": "READ",
            "group_name": REVIEWERS,
        },
    )
    assert status == 403, body
    assert body["error_code"] == "PERMISSION_DENIED"
    assert not can_read(hub, MEMBER, eid)


def test_effective_levels_and_hub_name_suggestions(
    hub: Hub, browser: Browser, team: dict[str, str]
) -> None:
    """erin holds READ of her own but EDIT through ``reviewers``: her row says EDIT, via the
    group. A grant to a name the hub does not know is marked. Typing suggests hub users; a
    typo is not granted, and the dialog says why."""
    name = f"perm-eff-{uuid.uuid4().hex[:6]}"
    status, body = as_user(hub, "alice", "POST", MLFLOW + "/experiments/create", {"name": name})
    assert status == 200, body
    eid = str(body["experiment_id"])
    grant_as(hub, "alice", eid, "USE", username="bob")
    grant_as(hub, "alice", eid, "READ", username=MEMBER)
    grant_as(hub, "alice", eid, "EDIT", group_name=REVIEWERS)
    grant_as(hub, "alice", eid, "READ", username="ghost")
    assert can_log(hub, MEMBER, eid)  # what the dialog will say: EDIT, via reviewers
    hub.start_server("alice")
    page = new_page(browser)
    try:
        set_theme(hub, "alice", "light")
        open_lab(page, hub, "alice")
        for theme in ("light", "dark"):
            if theme == "dark":
                set_theme(hub, "alice", "dark")
                page.goto(f"{hub.server_url('alice')}/lab?reset")
                expect(page.locator("body")).to_have_attribute("data-jp-theme-light", "false")
            body = open_dialog_of_experiment(page, name)
            expect(body.locator(".lt-PermissionsSummary")).to_contain_text(
                "Your level: Manage (own grant)"
            )
            erin = row(body, "user", MEMBER).locator(".lt-EffectiveLevel")
            expect(erin).to_have_attribute("data-permission", "EDIT")
            expect(erin).to_have_attribute("data-source", "group")
            expect(erin).to_contain_text("via group reviewers")
            expect(row(body, "user", MEMBER)).to_have_attribute("data-permission", "READ")
            bob = row(body, "user", "bob").locator(".lt-EffectiveLevel")
            expect(bob).to_contain_text("Use")
            expect(bob).to_contain_text("own grant")
            expect(row(body, "user", "ghost").locator(".lt-GranteeUnknown")).to_have_text(
                "(not a hub user)"
            )
            group = row(body, "group", REVIEWERS).locator(".lt-EffectiveLevel")
            expect(group).to_have_attribute("data-permission", "EDIT")

            # Suggestions from the hub as one types.
            field = body.locator(".lt-GrantName")
            field.fill("bo")
            expect(body.locator('datalist.lt-GrantNames option[value="bob"]')).to_have_count(1)
            body.locator(".lt-GrantKind").select_option("group")
            field.fill("review")
            expect(
                body.locator(f'datalist.lt-GrantNames option[value="{REVIEWERS}"]')
            ).to_have_count(1)
            body.locator(".lt-GrantKind").select_option("user")
            # A typo: not a hub user, nothing granted, the dialog says so.
            field.fill("bbo")
            body.locator(".lt-GrantButton").click()
            hint = body.locator(".lt-PermissionsHint")
            expect(hint).to_have_text("“bbo” is not a hub user: nothing was granted.")
            expect(row(body, "user", "bbo")).to_have_count(0)
            expect(field).to_have_value("bbo")
            page.screenshot(path=str(RESULTS / f"team-perm-05-effective-{theme}.png"))
            check_contrast(page, f"{theme} (effective levels)")
            page.keyboard.press("Escape")
        status, body = as_user(
            hub,
            "alice",
            "GET",
            f"/api/labtrack/permissions?resource_type=experiment&resource_id={eid}",
        )
        assert all(p["grantee"] != "bbo" for p in body["permissions"])
    except Exception:
        page.screenshot(path=str(RESULTS / "team-perm-00-effective-failed.png"))
        raise
    finally:
        set_theme(hub, "alice", None)
        page.context.close()
