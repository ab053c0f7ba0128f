"""The web UI's pages, served by the real application on a store of the simulator's stories:
login, the security headers, escaping of hostile values, and what each page shows. (The pages in
a real browser: test_browser.py.)"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest
from starlette.testclient import TestClient

from kubetrail.answers.requests import answer
from kubetrail.store.duckdb import DuckDBStore
from kubetrail.ui.web import CELL_ITEMS, PAGE_ROWS
from tests.ui.conftest import TOKEN

HOSTILE_RAW = ('<script>alert("user")</script>', "<img src=x onerror=alert(1)>", "<svg onload=alert(2)>", "<b onmouseover")
STORY = "alice@example.com"  # the exec story's person
PAGES = (
    "/ui/incidents",
    "/ui/incidents?at=latest&since=24h&severity=high",
    "/ui/ask/secrets?at=latest&since=24h",
    "/ui/ask/processes?at=latest&since=24h&unexpected=true",
    "/ui/ask/actor?at=latest&since=24h&name=alice%40example.com",
    "/ui/ask/egress?at=latest&since=24h&external=true",
    "/ui/timeline?at=latest&since=24h&actor=alice%40example.com",
    "/ui/who?ip=10.244.1.5&at=latest",
    "/ui/status",
)


@dataclass
class Page(HTMLParser):
    """What a test looks for in a page: scripts, inline handlers and styles, links, text."""

    scripts: list[dict[str, str | None]] = field(default_factory=list)
    inline: list[str] = field(default_factory=list)  # on*= and style= attributes, <style> elements
    links: list[str] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    rows: int = 0  # of table bodies
    _in_body: bool = False

    def __post_init__(self) -> None:
        super().__init__()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "script":
            self.scripts.append(named)
        if tag == "style":
            self.inline.append("<style>")
        self.inline += [f"{tag} {k}" for k, _ in attrs if k.startswith("on") or k == "style"]
        if tag == "a" and named.get("href"):
            self.links.append(str(named["href"]))
        self._in_body = self._in_body or tag == "tbody"
        self.rows += tag == "tr" and self._in_body

    def handle_endtag(self, tag: str) -> None:
        self._in_body = self._in_body and tag != "tbody"

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    @property
    def words(self) -> str:
        return " ".join(" ".join(self.text).split())


def page(client: TestClient, url: str, status: int = 200) -> Page:
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code, response.text[:500])
    assert response.headers["content-type"].startswith("text/html")
    parsed = Page()
    parsed.feed(response.text)
    return parsed


def test_the_printed_login_url_sets_an_httponly_strict_cookie_and_leads_to_a_url_without_the_token(
    anonymous: TestClient,
) -> None:
    response = anonymous.get(f"/ui/login?token={TOKEN}&next=%2Fui%2Fstatus", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/ui/status"
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie
    assert TOKEN not in response.headers["set-cookie"]  # a session id, not the token itself
    assert response.headers["referrer-policy"] == "no-referrer"


def test_a_wrong_token_is_refused_without_a_cookie(anonymous: TestClient) -> None:
    response = anonymous.get("/ui/login?token=not-it", follow_redirects=False)
    assert response.status_code == 401
    assert "set-cookie" not in response.headers
    assert "not accepted" in response.text


def test_login_goes_back_only_to_a_page_of_this_site(anonymous: TestClient) -> None:
    for elsewhere in ("https://evil.example/", "//evil.example/ui", "/api/v1/status"):
        response = anonymous.get("/ui/login", params={"token": TOKEN, "next": elsewhere}, follow_redirects=False)
        assert response.headers["location"] == "/ui/incidents", elsewhere


def test_a_page_without_a_session_leads_to_the_login_page_and_back(anonymous: TestClient) -> None:
    fresh = TestClient(anonymous.app)
    response = fresh.get("/ui/timeline?pod=shop%2Fcart&since=1h", follow_redirects=False)
    assert response.status_code == 303
    location = urlsplit(response.headers["location"])
    assert location.path == "/ui/login"
    assert parse_qs(location.query)["next"] == ["/ui/timeline?pod=shop%2Fcart&since=1h"]
    assert fresh.get("/api/v1/status").status_code == 401  # the API still answers in JSON


def test_every_response_forbids_inline_script_framing_and_sniffing(browser_client: TestClient) -> None:
    for url in ("/ui/incidents", "/ui/static/kubetrail.css", "/api/v1/status", "/ui/no-such-page"):
        headers = browser_client.get(url).headers
        csp = headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp, url
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer"


@pytest.mark.parametrize("url", PAGES)
def test_pages_hold_no_inline_script_style_or_handler(browser_client: TestClient, url: str) -> None:
    parsed = page(browser_client, url)
    assert parsed.scripts == [{"src": "/ui/static/kubetrail.js", "defer": None}]
    assert parsed.inline == []


def test_opened_without_parameters_on_an_old_store_the_page_shows_the_window_of_its_newest_event(
    browser_client: TestClient, ui_store: DuckDBStore
) -> None:
    parsed = page(browser_client, "/ui/incidents")
    newest = ui_store.query("newest_event")[0]["newest"]
    assert "older than the default window" in parsed.words
    assert newest is not None and STORY in parsed.words  # the stories are there, not an empty page


def test_the_incidents_page_lists_the_stories_newest_first_and_links_each_incident(
    browser_client: TestClient, ui_store: DuckDBStore
) -> None:
    rows = answer("incidents", ui_store, {"at": "latest", "since": "24h"})["rows"]
    parsed = page(browser_client, "/ui/incidents?at=latest&since=24h")
    links = [link for link in parsed.links if link.startswith("/ui/incidents/")]
    newest_first = sorted(rows, key=lambda r: r["start"], reverse=True)
    assert [urlsplit(link).path.rsplit("/", 1)[1] for link in links] == [r["id"] for r in newest_first]
    assert all("at=latest" in link for link in links)  # each opens in the window it was seen in


def test_the_severity_filter_keeps_the_incidents_at_or_above_it(browser_client: TestClient, ui_store: DuckDBStore) -> None:
    rows = answer("incidents", ui_store, {"at": "latest", "since": "24h"})["rows"]
    parsed = page(browser_client, "/ui/incidents?at=latest&since=24h&severity=critical")
    shown = [link for link in parsed.links if link.startswith("/ui/incidents/")]
    assert len(shown) == sum(r["severity"] == "critical" for r in rows) < len(rows)


def test_the_incident_page_tells_the_story_in_lanes_with_its_initiator_graph_and_export(
    browser_client: TestClient, ui_store: DuckDBStore
) -> None:
    rows = answer("incidents", ui_store, {"at": "latest", "since": "24h"})["rows"]
    story = next(r for r in rows if STORY in r["actors"])
    response = browser_client.get(f"/ui/incidents/{story['id']}?at=latest&since=24h")
    assert response.status_code == 200
    parsed = Page()
    parsed.feed(response.text)
    assert f"Initiator {STORY}" in parsed.words
    for lane in ("audit", "runtime", "network", "trace"):
        assert f">{lane}<" in response.text, lane
    for step in story["steps"]:
        assert f"/ui/events/{step['id']}" in parsed.links
    export = next(link for link in parsed.links if link.startswith("/api/v1/export/"))
    downloaded = browser_client.get(export)  # the session's cookie reads the API too
    assert downloaded.status_code == 200 and downloaded.content
    for technique in story["techniques"]:
        assert any(link.startswith("https://attack.mitre.org/techniques/" + technique.split(".")[0]) for link in parsed.links)


def test_an_incident_outside_the_window_says_where_to_look(browser_client: TestClient) -> None:
    parsed = page(browser_client, "/ui/incidents/0123456789abcdef0123456789abcdef?at=latest&since=24h", 404)
    assert "give since or at" in parsed.words


def test_hostile_values_are_shown_as_text_on_every_page(browser_client: TestClient, ui_store: DuckDBStore) -> None:
    rows = answer("incidents", ui_store, {"at": "latest", "since": "24h", "cluster": "hostile"})["rows"]
    (incident,) = rows
    urls = [
        "/ui/incidents?at=latest&since=24h",
        f"/ui/incidents/{incident['id']}?at=latest&since=24h",
        *(f"/ui/events/{s['id']}" for s in incident["steps"]),
        "/ui/timeline?" + "at=latest&since=24h&actor=" + incident["actors"][0].replace("<", "%3C").replace(">", "%3E"),
    ]
    for url in urls:
        response = browser_client.get(url)
        assert response.status_code == 200, url
        for raw in HOSTILE_RAW:
            assert raw not in response.text, (url, raw)
        parsed = Page()
        parsed.feed(response.text)
        assert parsed.scripts == [{"src": "/ui/static/kubetrail.js", "defer": None}], url
        assert parsed.inline == [], url
    audit = next(s for s in incident["steps"] if s["source"] == "k8s_audit")
    event = page(browser_client, f"/ui/events/{audit['id']}")
    assert '<script>alert("user")</script>@evil.example' in event.words  # shown, as text


def test_the_event_page_shows_fields_provenance_and_the_original_record(
    browser_client: TestClient, ui_store: DuckDBStore
) -> None:
    rows = answer("incidents", ui_store, {"at": "latest", "since": "24h"})["rows"]
    step = next(r for r in rows if STORY in r["actors"])["steps"][0]
    shown = answer("show", ui_store, {"id": step["id"]})
    parsed = page(browser_client, f"/ui/events/{step['id']}")
    assert "Normalized fields" in parsed.words and "Original record" in parsed.words
    assert shown["provenance"]["sha256"] in parsed.words
    assert any(link.startswith("/ui/ask/trace?event_id=") for link in parsed.links)
    assert any(link.startswith("/ui/timeline?pod=") for link in parsed.links)


@pytest.mark.parametrize(
    ("url", "question"),
    [
        ("/ui/ask/secrets?at=latest&since=24h", "ask secrets"),
        ("/ui/ask/egress?at=latest&since=24h&external=true", "ask egress"),
        ("/ui/ask/processes?at=latest&since=24h&unexpected=true", "ask processes"),
    ],
)
def test_a_question_page_shows_its_answer_rows_and_its_gaps(
    browser_client: TestClient, ui_store: DuckDBStore, url: str, question: str
) -> None:
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    values = {k: (v == "true" if k in ("external", "unexpected") else v) for k, v in query.items()}
    doc = answer(question, ui_store, values)
    response = browser_client.get(url)
    assert response.status_code == 200
    assert response.text.count("<tr>") == len(doc["rows"]) + (1 if doc["rows"] else 0)  # the rows and the header
    for gap in doc["gaps"]:
        assert gap.replace("'", "&#39;").replace('"', "&#34;") in response.text
    if doc["gaps"]:
        assert "No data is not no match" in response.text


def test_a_question_asked_wrong_says_what_to_give(browser_client: TestClient) -> None:
    parsed = page(browser_client, "/ui/ask/secrets?since=yesterday-ish", 400)
    assert "yesterday-ish" in parsed.words


def test_a_page_that_needs_a_subject_shows_its_form_first(browser_client: TestClient) -> None:
    parsed = page(browser_client, "/ui/timeline")
    assert "Give pod or actor or sa or incident to ask." in parsed.words


def test_the_pager_keeps_the_parameters_and_adds_the_cursor(browser_client: TestClient) -> None:
    parsed = page(browser_client, "/ui/timeline?at=latest&since=24h&actor=alice%40example.com&limit=2")
    (following,) = [link for link in parsed.links if "cursor=" in link]
    query = parse_qs(urlsplit(following).query)
    assert query["limit"] == ["2"] and query["actor"] == ["alice@example.com"] and query["at"] == ["latest"]
    assert page(browser_client, following).words


def test_a_page_holds_a_hundred_rows_unless_asked_for_more(browser_client: TestClient, ui_store: DuckDBStore) -> None:
    everything = answer("ask processes", ui_store, {"at": "latest", "since": "24h"})["rows"]
    assert len(everything) > PAGE_ROWS  # else this test shows nothing
    parsed = page(browser_client, "/ui/ask/processes?at=latest&since=24h")
    (following,) = {link for link in parsed.links if "cursor=" in link}
    assert parsed.rows == PAGE_ROWS and parse_qs(urlsplit(following).query)["limit"] == [str(PAGE_ROWS)]
    assert page(browser_client, f"/ui/ask/processes?at=latest&since=24h&limit={len(everything)}").rows == len(everything)


def test_a_long_list_in_a_table_cell_shows_its_first_items_and_how_many_more(
    browser_client: TestClient, ui_store: DuckDBStore
) -> None:  # fmt: skip
    rows = answer("ask egress", ui_store, {"at": "latest", "since": "24h", "limit": PAGE_ROWS})["rows"]
    longest = max(len(r["evidence"]) for r in rows)
    assert longest > CELL_ITEMS  # else this test shows nothing
    parsed = page(browser_client, "/ui/ask/egress?at=latest&since=24h")
    evidence = [link for link in parsed.links if link.startswith("/ui/events/")]
    assert len(evidence) == sum(min(len(r["evidence"]), CELL_ITEMS) for r in rows)
    assert f"and {longest - CELL_ITEMS} more" in parsed.words


def test_a_session_reads_but_never_ingests(browser_client: TestClient) -> None:
    response = browser_client.post("/v1/ingest?source=falco", content=b"{}")
    assert response.status_code == 403


def test_the_assets_ship_in_the_package_and_need_no_login(anonymous: TestClient) -> None:
    fresh = TestClient(anonymous.app)
    for url, kind in (("/ui/static/kubetrail.css", "text/css"), ("/ui/static/kubetrail.js", "text/javascript"),
                      ("/favicon.ico", "image/svg+xml")):  # fmt: skip
        response = fresh.get(url)
        assert response.status_code == 200 and response.headers["content-type"].startswith(kind), url
    for outside in ("/ui/static/web.py", "/ui/static/..%2Fweb.py", "/ui/static/%2E%2E%2Fweb.py"):
        assert fresh.get(outside, follow_redirects=False).status_code == 404, outside
