"""The library's topics: the one list behind topic pages, the topic filters of every library kind and the
topic chosen on abstracts, highlights and news.

An item of the library stores the topic's slug. Activities keep their free-text topics and specialty; an activity
belongs to a topic page when one of the topic's terms occurs in them (`Topic.matches`).
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Topic:
    slug: str
    name: str
    summary: str
    terms: tuple[str, ...]  # lower-case words that put an activity on this topic

    def matches(self, *texts: str) -> bool:
        joined = " ".join(texts).lower()
        return any(term in joined for term in self.terms)


TOPICS: tuple[Topic, ...] = (
    Topic("hepatitis-c", "Hepatitis C",
          "Testing, simplified treatment with direct-acting antivirals, and elimination in primary care and "
          "addiction services.", ("hepatitis c", "hcv", "direct-acting antiviral")),
    Topic("hepatitis-b", "Hepatitis B",
          "Screening, vaccination, antiviral treatment and prevention of reactivation.", ("hepatitis b", "hbv")),
    Topic("masld", "MASLD and MASH",
          "Metabolic dysfunction-associated steatotic liver disease: noninvasive tests, fibrosis staging and "
          "treatment.", ("masld", "mash", "nafld", "nash", "steatotic", "steatohepatitis")),
    Topic("liver-cancer", "Liver cancer",
          "Surveillance, diagnosis and treatment of hepatocellular carcinoma.",
          ("hepatocellular", "liver cancer", "hcc", "li-rads")),
    Topic("transplantation", "Transplantation",
          "Liver transplantation: listing, donation, surgery and long-term care.",
          ("transplant",)),
    Topic("substance-use-disorder", "Substance use disorder",
          "Alcohol and opioid use disorders, their treatment, and care integrated with liver disease.",
          ("substance use", "opioid use", "alcohol use", "buprenorphine", "addiction")),
    Topic("alcohol-associated-liver-disease", "Alcohol-associated liver disease",
          "Alcohol-associated hepatitis and cirrhosis.", ("alcohol-associated",)),
)

BY_SLUG: dict[str, Topic] = {topic.slug: topic for topic in TOPICS}
CHOICES: list[tuple[str, str]] = [(topic.slug, topic.name) for topic in TOPICS]


def topic_named(slug: str | None) -> Topic | None:
    return BY_SLUG.get(slug or "")
