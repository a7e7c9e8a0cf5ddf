"""Players join as a browser does: GET the home page for a CSRF token, POST /join, keep the
session cookie that identifies the player (their WebSocket sends it)."""

import http.cookiejar
import re
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def csrf_for(url: str) -> tuple[str, str]:
    """One CSRF cookie and form token serve every join (the token is not tied to a session)."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(url + "/", timeout=30).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    cookie = next(c.value for c in jar if c.name == "csrftoken")
    return cookie, token


def join(url: str, code: str, nickname: str, csrf: tuple[str, str]) -> str:
    """POST /join as the browser form does; returns the session cookie that identifies the player."""
    cookie, token = csrf
    body = urllib.parse.urlencode({"code": code, "nickname": nickname, "csrfmiddlewaretoken": token}).encode()
    headers = {"Cookie": f"csrftoken={cookie}", "Referer": url + "/"}
    request = urllib.request.Request(url + "/join", data=body, headers=headers)
    opener = urllib.request.build_opener(NoRedirect)
    try:
        opener.open(request, timeout=60)
    except urllib.error.HTTPError as response:
        if response.code != 302:
            raise RuntimeError(f"join {nickname}: HTTP {response.code}") from None
        for header, value in response.headers.items():
            if header.lower() == "set-cookie" and value.startswith("sessionid="):
                return value.split(";", 1)[0]
    raise RuntimeError(f"join {nickname}: no session cookie")


def join_many(url: str, code: str, nicknames: list[str], *, threads: int = 32) -> list[str]:
    csrf = csrf_for(url)
    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(lambda n: join(url, code, n, csrf), nicknames))
