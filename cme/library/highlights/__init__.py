"""Conference highlights (issue 15, point 6): an organizer's account of a past activity, offered as enduring material."""
