"""The machinery of the role × route permission matrix, shared by every area's matrix module.

Each module ``test_permission_matrix*.py`` lists its routes in ``ROUTES`` and the
objects they need in a fixture; ``test_permission_matrix.py`` checks that together
they cover every route of the app.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import pytest

from tests.conftest import DEMO_PASSWORD, csrf_token

ROLES = ("anonymous", "cadet", "other_cadet", "mentor", "unassigned_mentor", "admin", "assessor", "psychologist")
USERNAMES = {"cadet": "cadet.01", "other_cadet": "cadet.07", "mentor": "mentor.jonas",
             "unassigned_mentor": "mentor.ona", "admin": "admin", "assessor": "assessor",
             "psychologist": "psychologist"}
LOGIN = 302  # anonymous users are sent to the sign-in page


def expect(anonymous: int, cadet: int, other_cadet: int, mentor: int, unassigned_mentor: int, admin: int,
           assessor: int | None = None, psychologist: int | None = None) -> dict[str, int]:
    return dict(anonymous=anonymous, cadet=cadet, other_cadet=other_cadet, mentor=mentor,
                unassigned_mentor=unassigned_mentor, admin=admin,
                assessor=admin if assessor is None else assessor,
                psychologist=admin if psychologist is None else psychologist)


@dataclass(frozen=True)
class Route:
    """One route, how to call it, and the status each role must get."""

    endpoint: str
    method: str
    path: str
    expected: dict[str, int]
    data: dict[str, str] | Callable[[dict[str, Any]], dict[str, str]] | None = None
    json: dict[str, Any] | None = None


def _fill(value: Any, objects: dict[str, Any]) -> Any:
    if callable(value):
        return value(objects)
    if isinstance(value, str):
        return value.format(**objects)
    if isinstance(value, dict):
        return {_fill(k, objects): _fill(v, objects) for k, v in value.items()}
    return value


def _sign_in(client, username: str) -> str:
    token = csrf_token(client, "/login")
    assert client.post("/login", data={"username": username, "password": DEMO_PASSWORD,
                                       "csrf_token": token}).status_code == 302
    return csrf_token(client, "/dashboard")  # signing in starts a new session, with a new token


def _anonymous_token(client) -> str:
    return csrf_token(client, "/login")



# Answers that hold nothing about anyone: they may be cached, and the probes never load the person.
WITHOUT_PERSONAL_DATA = ("static", "healthz", "readyz")


def request_as(client, route: Route, role: str, objects: dict[str, Any]) -> int:
    """Make the route's request as ``role`` and return the status code.

    Whatever a signed-in person is answered with a GET (pages, downloads, refusals) must not be kept in a
    cache: ``Cache-Control: no-store``, except static files and the probes, which hold nothing about anyone.
    """
    token = _sign_in(client, USERNAMES[role]) if role != "anonymous" else _anonymous_token(client)
    path = _fill(route.path, objects)
    if route.method == "GET":
        response = client.get(path)
        if role != "anonymous" and route.endpoint not in WITHOUT_PERSONAL_DATA:
            assert "no-store" in response.headers.get("Cache-Control", ""), (role, path, response.status_code)
    elif route.json is not None:
        response = client.post(path, json=_fill(route.json, objects), headers={"X-CSRFToken": token})
    else:
        response = client.post(path, data={"csrf_token": token, **_fill(route.data or {}, objects)})
    response.close()
    return response.status_code


def post_without_token(client, route: Route, objects: dict[str, Any]) -> int:
    _sign_in(client, USERNAMES["cadet"])
    path = _fill(route.path, objects)
    if route.json is not None:
        response = client.post(path, json=_fill(route.json, objects))
    else:
        response = client.post(path, data=_fill(route.data or {}, objects))
    response.close()
    return response.status_code


def matrix_tests(routes: list[Route]) -> tuple[Callable[..., None], Callable[..., None]]:
    """The two tests each area's module runs over its ``ROUTES`` (and its ``objects`` fixture):
    every role gets the expected status, and every POST without a CSRF token is refused.

    A module takes them with
    ``test_route_permission, test_every_form_post_without_csrf_token_is_rejected = matrix_tests(ROUTES)``.
    """
    def route_id(route: Route) -> str:
        return f"{route.method} {route.endpoint}"

    @pytest.mark.parametrize("role", ROLES)
    @pytest.mark.parametrize("route", routes, ids=route_id)
    def test_route_permission(client, objects, route: Route, role: str) -> None:
        assert request_as(client, route, role, objects) == route.expected[role], (role, route.method, route.path)

    @pytest.mark.parametrize("route", [r for r in routes if r.method == "POST"], ids=route_id)
    def test_every_form_post_without_csrf_token_is_rejected(client, objects, route: Route) -> None:
        assert post_without_token(client, route, objects) == 400

    return test_route_permission, test_every_form_post_without_csrf_token_is_rejected
