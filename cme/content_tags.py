"""State-mandated content: the topics state licensing boards require hours in (issue 16, points 2 and 7).

One list, used by an activity's tags (what it covers), a licence's requirements (what a learner must still earn)
and the exports (CE Broker's subject areas follow the same tags)."""
from __future__ import annotations

from cme.enums import LabeledEnum


class ContentTag(LabeledEnum):
    OPIOID_PRESCRIBING = "opioid_prescribing", "Opioid prescribing"
    PAIN_MANAGEMENT = "pain_management", "Pain management"
    CONTROLLED_SUBSTANCES = "controlled_substances", "Controlled substances"
    IMPLICIT_BIAS = "implicit_bias", "Implicit bias"
    CULTURAL_COMPETENCY = "cultural_competency", "Cultural competency"
    HUMAN_TRAFFICKING = "human_trafficking", "Human trafficking"
    END_OF_LIFE_CARE = "end_of_life_care", "End-of-life care"
    DOMESTIC_VIOLENCE = "domestic_violence", "Domestic violence"
    CHILD_ABUSE = "child_abuse", "Child abuse recognition"
    SUICIDE_PREVENTION = "suicide_prevention", "Suicide prevention"
    INFECTION_CONTROL = "infection_control", "Infection control"
    HIV_AIDS = "hiv_aids", "HIV/AIDS"
    PATIENT_SAFETY = "patient_safety", "Patient safety and medical errors"
    ETHICS = "ethics", "Ethics and professional responsibility"
    LAW = "law", "Laws and rules"
