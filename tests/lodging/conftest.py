import pytest

from housing.factories import PropertyFactory, UnitFactory


@pytest.fixture
def guesthouse_a(landlord_a, community_a):
    """A guesthouse of station A run by landlord A, with rooms 101 and 102."""
    prop = PropertyFactory(property_type="guesthouse", landlord=landlord_a, community=community_a,
                           address="幸福路8号 如家招待所")
    for label in ("101", "102"):
        UnitFactory(property=prop, label=label, capacity=2)
    return prop


@pytest.fixture
def guesthouse_b(landlord_b, community_b):
    return PropertyFactory(property_type="homestay", landlord=landlord_b, community=community_b,
                           address="和平街3号 民宿")
