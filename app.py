"""Entry point: `flask --app app ...` and `gunicorn app:app`."""
from cme import create_app

app = create_app()
