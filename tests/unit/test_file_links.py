"""Signed links to the web chat's files: valid for their ref and a few minutes, on a fake clock."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from storage.file_links import FileLinks


def parts(url: str) -> tuple[str, str, str]:
    split = urlsplit(url)
    query = parse_qs(split.query)
    return split.path.rsplit("/", 1)[1], query["e"][0], query["s"][0]


def test_a_link_opens_its_file_until_it_expires() -> None:
    now = [1_000_000.0]
    links = FileLinks(b"k" * 32, seconds=600, clock=lambda: now[0])
    ref, expires, signature = parts(links.url("web:abc"))
    assert ref == "abc" and links.valid(ref, expires, signature)
    now[0] += 599
    assert links.valid(ref, expires, signature)
    now[0] += 2
    assert not links.valid(ref, expires, signature)


def test_a_link_is_for_one_file_one_key_and_one_expiry() -> None:
    links = FileLinks(b"k" * 32)
    ref, expires, signature = parts(links.url("abc"))
    assert not links.valid("abd", expires, signature)
    assert not links.valid(ref, str(int(expires) + 3600), signature)  # a longer life is not forged
    assert not FileLinks(b"x" * 32).valid(ref, expires, signature)
    assert not links.valid(ref, "soon", signature)


def test_other_platforms_files_keep_their_own_url() -> None:
    assert FileLinks(b"k" * 32).url("https://vk.com/doc1") == "https://vk.com/doc1"
