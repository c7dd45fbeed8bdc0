"""A learner's data rights (issue 13, point 8): download everything held about them, close their account, and
the erasure of closed accounts after the six-year accreditation retention. Above every other capability: it
reads (and, closing, changes) what each of them holds about a person."""
