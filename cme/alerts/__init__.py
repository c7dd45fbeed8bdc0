"""New-activity alerts (issue 14, point 14): a learner saves the catalog's filters as an alert, and gets one mail
a week gathering the activities published since the last one that match any of their alerts, each mail with a
signed link (and the RFC 8058 headers) that turns its alerts off without logging in."""
