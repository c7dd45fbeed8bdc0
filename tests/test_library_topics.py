"""The library's one topic list: slugs are unique and URL-safe, and activities fall under topics by their terms."""
import re

from cme.library.topics import BY_SLUG, CHOICES, TOPICS, topic_named


def test_topic_slugs_are_unique_url_safe_and_chosen_by_name():
    assert len(BY_SLUG) == len(TOPICS)
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", topic.slug) for topic in TOPICS)
    assert CHOICES[0] == ("hepatitis-c", "Hepatitis C")


def test_an_activity_is_on_a_topic_when_a_term_occurs_in_its_topics_or_specialty():
    masld = topic_named("masld")
    assert masld.matches("MASLD, fibrosis, FIB-4", "Hepatology")
    assert not masld.matches("hepatitis B, reactivation", "Hepatology")
    assert topic_named("transplantation").matches("", "Transplant surgery")
    assert topic_named("nothing") is None and topic_named(None) is None
