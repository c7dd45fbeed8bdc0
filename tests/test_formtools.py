"""Shared form helpers."""
from __future__ import annotations

from wtforms import Form, widgets
from wtforms.fields.choices import SelectChoice

from cme.formtools import SelectField, select_choices


class MenuForm(Form):
    plain = SelectField("Plain", choices=select_choices([("", "Choose…"), ("MD", "MD"), ("a&b", '<b>"x"</b>')]))
    grouped = SelectField("Grouped", choices=select_choices([("America/New_York", "New York")], optgroup="US")
                          + select_choices([("Europe/Paris", "Paris & co")], optgroup="Europe"))
    extra = SelectField("Extra", choices=[SelectChoice("1", "One", render_kw={"disabled": True}), SelectChoice(2, "")])


def test_quick_select_renders_what_wtforms_select_renders():
    form = MenuForm(data={"plain": "a&b", "grouped": "Europe/Paris", "extra": "1"})
    for field in (form.plain, form.grouped, form.extra):
        assert field() == widgets.Select()(field), field.name
    assert '<option selected value="a&amp;b">&lt;b&gt;&#34;x&#34;&lt;/b&gt;</option>' in form.plain()
