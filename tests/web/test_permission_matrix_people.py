"""Accounts pages × every kind of user.

Columns as in ``test_permission_matrix.py``: anonymous, cadet.01, cadet.07, mentor.jonas, mentor.ona, admin,
assessor, psychologist. Everyone signed in changes their own password; managing accounts is for the
training centre administrator (``people.manage``) alone.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.web.permissions import LOGIN, Route, expect, matrix_tests

MANAGE_PAGE = expect(LOGIN, 403, 403, 403, 403, 200, assessor=403, psychologist=403)
MANAGE_POST = expect(LOGIN, 403, 403, 403, 403, 302, assessor=403, psychologist=403)
NEW_PASSWORD = "Saulėta-Pieva-4812"

ROUTES = [
    Route("accounts.change_password", "GET", "/account/password", expect(LOGIN, 200, 200, 200, 200, 200)),
    # A wrong current password: refused on the form for everyone signed in, nothing changed.
    Route("accounts.change_password", "POST", "/account/password", expect(LOGIN, 400, 400, 400, 400, 400),
          data={"current_password": "not-the-password", "new_password": NEW_PASSWORD,
                "new_password_again": NEW_PASSWORD}),
    Route("accounts.index", "GET", "/accounts/", MANAGE_PAGE),
    Route("accounts.disable", "POST", "/accounts/{account}/disable", MANAGE_POST),
    Route("accounts.enable", "POST", "/accounts/{account}/enable", MANAGE_POST),
    Route("accounts.unlock", "POST", "/accounts/{account}/unlock", MANAGE_POST),
    Route("accounts.reset_password", "GET", "/accounts/{account}/password", MANAGE_PAGE),
    Route("accounts.reset_password", "POST", "/accounts/{account}/password", MANAGE_POST,
          data={"new_password": NEW_PASSWORD, "new_password_again": NEW_PASSWORD}),
]


@pytest.fixture()
def objects(user) -> dict[str, Any]:
    """An account none of the matrix's users signs in with."""
    return {"account": user("cadet.02").id}


test_route_permission, test_every_form_post_without_csrf_token_is_rejected = matrix_tests(ROUTES)
