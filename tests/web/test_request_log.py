"""Structured logs: one JSON line per request, with the request id echoed in the response."""

from __future__ import annotations

import json
import logging
from typing import Any

from flask import g

from lms_plugin.web.request_log import REQUEST_LOGGER


def json_lines(captured: str) -> list[dict[str, Any]]:
    """The JSON lines of the output (anything else written there is not ours)."""
    lines = []
    for line in captured.splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


def request_lines(captured: str) -> list[dict[str, Any]]:
    return [line for line in json_lines(captured) if line["logger"] == REQUEST_LOGGER]


def test_a_request_writes_one_parsable_json_line_with_the_id_it_returns(client: Any, capsys: Any) -> None:
    capsys.readouterr()
    response = client.get("/healthz")
    lines = request_lines(capsys.readouterr().err)
    assert len(lines) == 1
    line = lines[0]
    assert response.headers["X-Request-ID"] == line["request_id"] and len(line["request_id"]) == 32
    assert (line["method"], line["path"], line["status"], line["level"]) == ("GET", "/healthz", 200, "INFO")
    assert line["time"].endswith("+00:00") and line["duration_ms"] >= 0 and line["user_id"] is None


def test_the_signed_in_person_is_named_and_app_records_carry_the_request_id(
        client: Any, login_as: Any, user: Any, capsys: Any, app: Any) -> None:
    login_as("cadet.01")
    capsys.readouterr()
    response = client.get("/dashboard")
    lines = request_lines(capsys.readouterr().err)
    assert len(lines) == 1 and lines[0]["user_id"] == user("cadet.01").id
    assert lines[0]["request_id"] == response.headers["X-Request-ID"]

    with app.test_request_context("/"):
        g.request_id = "req-42"
        logging.getLogger("lms_plugin.practice").warning("stored file %s is missing", "abc")
    [record] = [line for line in json_lines(capsys.readouterr().err) if line["logger"] == "lms_plugin.practice"]
    assert record == {**record, "logger": "lms_plugin.practice", "level": "WARNING", "request_id": "req-42",
                      "message": "stored file abc is missing"}


def test_an_outside_request_id_is_used_only_when_trusted(client: Any, app: Any, capsys: Any) -> None:
    capsys.readouterr()
    assert client.get("/healthz", headers={"X-Request-ID": "proxy-1"}).headers["X-Request-ID"] != "proxy-1"
    app.config["TRUST_REQUEST_ID_HEADER"] = True
    try:
        assert client.get("/healthz", headers={"X-Request-ID": "proxy-1"}).headers["X-Request-ID"] == "proxy-1"
        # Not an id: a header meant to pass for something else in the log.
        forged = client.get("/healthz", headers={"X-Request-ID": 'a", "user_id": 1'}).headers["X-Request-ID"]
        assert len(forged) == 32 and '"' not in forged
    finally:
        app.config["TRUST_REQUEST_ID_HEADER"] = False
    assert [line["request_id"] for line in request_lines(capsys.readouterr().err)][1] == "proxy-1"
