"""The API docs work without internet access: every asset comes from the service itself."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI

# Any absolute URL (http://host, https://host, protocol-relative //host) in a src/href/url.
EXTERNAL = re.compile(r"""(?:src|href|url)\s*[=:(]\s*['"]?\s*(?:https?:)?//""", re.IGNORECASE)
LOCAL_ASSET = re.compile(r"""(?:src|href)="(/[^"]*)\"""")


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_docs_page_references_no_external_host(client: httpx.AsyncClient, page: str) -> None:
    r = await client.get(page)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert not EXTERNAL.search(r.text), r.text
    assert "fonts.googleapis" not in r.text
    assert "cdn." not in r.text
    assert "validator.swagger.io" not in r.text


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        (
            "/docs",
            {
                "/docs-assets/swagger/swagger-ui-bundle.js": "javascript",
                "/docs-assets/swagger/swagger-ui.css": "text/css",
                "/docs-assets/fastapi/favicon.png": "image/png",
            },
        ),
        (
            "/redoc",
            {
                "/docs-assets/redoc/redoc.standalone.js": "javascript",
                "/docs-assets/fastapi/favicon.png": "image/png",
            },
        ),
    ],
)
async def test_every_asset_a_docs_page_loads_is_served_by_the_service(
    client: httpx.AsyncClient, page: str, expected: dict[str, str]
) -> None:
    html = (await client.get(page)).text
    referenced = set(LOCAL_ASSET.findall(html))
    assert referenced == set(expected)
    for url, content_type in expected.items():
        asset = await client.get(url)
        assert asset.status_code == 200, url
        assert content_type in asset.headers["content-type"], (url, asset.headers)
        assert len(asset.content) > 1000, url


async def test_swagger_ui_reads_the_spec_and_redirects_oauth2_locally(
    client: httpx.AsyncClient,
) -> None:
    html = (await client.get("/docs")).text
    assert "url: '/openapi.json'" in html
    assert "oauth2RedirectUrl: window.location.origin + '/docs/oauth2-redirect'" in html
    redirect = await client.get("/docs/oauth2-redirect")
    assert redirect.status_code == 200
    assert redirect.headers["content-type"].startswith("text/html")
    assert "oauth2" in redirect.text
    assert not EXTERNAL.search(redirect.text)
    spec = (await client.get("/openapi.json")).json()
    assert "/docs" not in spec["paths"]
    assert "/docs-assets" not in str(spec["paths"])


async def test_docs_behind_a_path_prefix_load_everything_through_the_prefix(app: FastAPI) -> None:
    # A proxy serving the API under /api strips the prefix and passes it as the ASGI root_path.
    transport = httpx.ASGITransport(app=app, root_path="/api")
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        docs = (await http.get("/docs")).text
        redoc = (await http.get("/redoc")).text
    assert "/api/docs-assets/swagger/swagger-ui-bundle.js" in docs
    assert "url: '/api/openapi.json'" in docs
    assert "'/api/docs/oauth2-redirect'" in docs
    assert 'src="/api/docs-assets/redoc/redoc.standalone.js"' in redoc
