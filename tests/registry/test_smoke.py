from housing.factories import ResidenceFactory


def test_residence_factory_builds_a_valid_registration(community_a):
    residence = ResidenceFactory(unit__property__community=community_a)
    residence.person.full_clean()
    assert residence.station_id == community_a.station_id
