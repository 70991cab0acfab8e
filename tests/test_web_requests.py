"""web/requests.py: the request readers every feature's handlers share."""
from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from callcenter.errors import DomainError
from web import requests

pytestmark = pytest.mark.no_database  # touches no database: runs once, on SQLite (tests/postgres.py)


class Bad(DomainError):
    error_id = "bad_thing"
    status = 422


class Gone(DomainError):
    error_id = "thing_not_found"
    status = 404


def with_path(value: str, name: str = "id"):
    request = make_mocked_request("GET", f"/things/{value}")
    request._match_info = {name: value}
    return request


def test_path_int_takes_ascii_digits_only():
    assert requests.path_int(with_path("42")) == 42
    for raw in ("-1", "+1", "1.0", "x", "", "٣", "²", "1" * 13):
        with pytest.raises(web.HTTPNotFound):
            requests.path_int(with_path(raw))
    with pytest.raises(Gone):
        requests.path_int(with_path("x", "item_id"), "item_id", Gone("no such thing"))


def test_query_int_keeps_the_features_error_and_field():
    request = make_mocked_request("GET", "/things?limit=abc&offset=-3&page=%202%20")
    with pytest.raises(Bad) as caught:
        requests.query_int(request, "limit", 50, error=Bad)
    assert caught.value.message == "limit must be a whole number" and caught.value.details == {"field": "limit"}
    with pytest.raises(Bad) as caught:
        requests.query_int(request, "offset", 0, error=Bad, low=0, high=10)
    assert caught.value.message == "offset must be between 0 and 10"
    assert requests.query_int(request, "page", error=Bad) == 2
    assert requests.query_int(request, "absent", 7, error=Bad) == 7


def test_forgiving_numbers_for_pages():
    assert requests.whole_number(" 12 ") == 12
    assert [requests.whole_number(v) for v in (None, "", "-1", "1e3", "٣", "1" * 12)] == [None] * 6
    assert requests.page_number(make_mocked_request("GET", "/x?page=3")) == 3
    assert requests.page_number(make_mocked_request("GET", "/x?page=0")) == 1
    assert requests.page_number(make_mocked_request("GET", "/x?page=9999999")) == 1
    assert requests.page_number(make_mocked_request("GET", "/x")) == 1


def test_csv_file_is_a_download_or_404(tmp_path):
    path = tmp_path / "r.csv"
    with pytest.raises(web.HTTPNotFound):
        requests.csv_file(path, "r.csv")
    path.write_text("a,b\n")
    response = requests.csv_file(path, "upload-1-report.csv")
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == 'attachment; filename="upload-1-report.csv"'
