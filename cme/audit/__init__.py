"""The audit log (issue 13, point 8): who changed what an accreditor or a learner relies on, when, from what to
what. Entries are written by flush listeners over a registry of watched models and fields (`recording.py`), in
the same transaction as the change, so no code path can forget them; admins read them all and an activity's
organizers read its history (`views.py`)."""
