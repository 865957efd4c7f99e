"""The "Personal data" pages × every kind of user: the administrator (``people.manage``) exports and
erases; the psychologist (``psychometrics.view_raw``) sees and exports (with raw answers) but does not
erase; nobody else gets in."""

from __future__ import annotations

from typing import Any

import pytest

from tests.web.permissions import LOGIN, Route, expect, matrix_tests

VIEW = expect(LOGIN, 403, 403, 403, 403, 200, assessor=403, psychologist=200)

ROUTES = [
    Route("privacy.index", "GET", "/personal-data/", VIEW),
    Route("privacy.person", "GET", "/personal-data/{cadet}", VIEW),
    Route("privacy.export_json", "GET", "/personal-data/{cadet}.json", VIEW),
    Route("privacy.export_xlsx", "GET", "/personal-data/{cadet}.xlsx", VIEW),
    Route("privacy.erase", "POST", "/personal-data/{cadet}/erase",
          expect(LOGIN, 403, 403, 403, 403, 302, assessor=403, psychologist=403),
          data={"reason": "Request 2026/1", "confirm_username": "cadet.01"}),
]


@pytest.fixture()
def objects(user: Any) -> dict[str, Any]:
    return {"cadet": user("cadet.01").id}


test_route_permission, test_every_form_post_without_csrf_token_is_rejected = matrix_tests(ROUTES)
