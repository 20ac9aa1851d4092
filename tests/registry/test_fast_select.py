"""FastSelect writes exactly the HTML Django's select templates write, options and all."""

import pytest
from django import forms
from hypothesis import given
from hypothesis import strategies as st

from registry.factories import CommunityFactory
from registry.forms import BootstrapFormMixin, FastSelect
from registry.models import Community

ATTRS = {"class": "form-select", "hx-get": "/picker/?a=1&b=2", "required": True, "disabled": False,
         "aria-describedby": 'x"y'}
labels = st.text(max_size=12)
flat = st.lists(st.tuples(st.one_of(st.integers(), st.text(max_size=5), st.none()), labels), max_size=6)


@given(choices=flat, groups=st.lists(st.tuples(labels, flat), max_size=2), pick=st.integers(0, 8))
def test_same_html_as_django_for_any_choices(choices, groups, pick):
    every = choices + [(name or "g", options) for name, options in groups]
    values = [value for value, _label in choices] + [v for _g, options in groups for v, _l in options]
    value = values[pick % len(values)] if values else None
    django_html = forms.Select(choices=every, attrs=ATTRS).render("field", value, {"id": "id_field"})
    assert FastSelect(choices=every, attrs=ATTRS).render("field", value, {"id": "id_field"}) == django_html


def test_same_html_for_a_model_choice_field_and_forms_use_it(db):
    CommunityFactory.create_batch(3)
    chosen = Community.objects.order_by("pk").last()

    class PlaceForm(BootstrapFormMixin, forms.Form):
        community = forms.ModelChoiceField(queryset=Community.objects.order_by("name"))
        kind = forms.ChoiceField(choices=[("a", "A"), ("b", "B <b>")])

    form = PlaceForm(data={"community": str(chosen.pk), "kind": "b"})
    assert isinstance(form.fields["community"].widget, FastSelect)
    assert isinstance(form.fields["kind"].widget, FastSelect)
    fast = str(form["community"])
    form.fields["community"].widget.__class__ = forms.Select
    assert fast == str(form["community"])
    assert f'<option value="{chosen.pk}" selected>' in fast


@pytest.mark.parametrize("widget", [forms.SelectMultiple, forms.RadioSelect])
def test_other_choice_widgets_keep_their_templates(widget):
    class Form(BootstrapFormMixin, forms.Form):
        field = forms.ChoiceField(choices=[("a", "A")], widget=widget)

    assert type(Form().fields["field"].widget) is widget
