"""`make demo` in a classroom: the join address phones can open, and what it prints."""

from elsa import demo


def test_the_demo_sends_phones_to_this_computers_network_address(monkeypatch):
    monkeypatch.setattr(demo, "lan_address", lambda: "192.168.1.20")
    assert demo.addresses({}, 8000) == ("0.0.0.0", "http://192.168.1.20:8000")


def test_public_url_wins_and_host_can_keep_the_demo_on_this_computer(monkeypatch):
    monkeypatch.setattr(demo, "lan_address", lambda: "192.168.1.20")
    assert demo.addresses({"PUBLIC_URL": "https://quiz.school.example/"}, 8000) == (
        "0.0.0.0", "https://quiz.school.example")
    assert demo.addresses({"HOST": "127.0.0.1"}, 8001) == ("127.0.0.1", "http://127.0.0.1:8001")


def test_without_a_network_the_join_address_is_this_computer(monkeypatch):
    monkeypatch.setattr(demo, "lan_address", lambda: None)
    assert demo.addresses({}, 8000) == ("0.0.0.0", "http://127.0.0.1:8000")


def test_the_network_address_is_never_loopback():
    assert demo.lan_address() is None or not demo.lan_address().startswith("127.")
