"""Helpers for pages driven by Playwright."""


def log_in(page, live_server_url: str, next_path: str, username: str = "teacher", password: str = "a-long-pass"):
    """Log in through the admin's own form, as a teacher does, and land on `next_path`."""
    page.goto(f"{live_server_url}/admin/login/?next={next_path}")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    return page


# The quickest possible tap: a click on a control in the same moment it is drawn (a
# MutationObserver runs before the browser paints or takes any other input).
_TAP_WHEN_DRAWN = """(selector) => {
    const observer = new MutationObserver(() => {
        const control = document.querySelector(selector);
        if (control) { observer.disconnect(); control.click(); }
    });
    observer.observe(document.body, {childList: true, subtree: true});
}"""


def tap_when_drawn(page, selector: str) -> None:
    """Click the first element matching `selector` the moment a page change draws it."""
    page.evaluate(_TAP_WHEN_DRAWN, selector)
