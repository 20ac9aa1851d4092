import io

from django.core.management import call_command
from django.db.models import Count, F

from housing.models import LODGING_TYPES, Landlord, Property, Residence, Unit
from lodging.models import Stay
from patrol.models import Inspection, ResidencePermit
from persons.models import Employment, Person
from portal.models import Submission
from registry.changes import changes_sequence
from registry.models import ChangeLog


def _generate(persons=1000):
    call_command("generate_city", "--persons", str(persons), "--stations", "5", "--communities", "20",
                 stdout=io.StringIO())


def test_generate_city_builds_the_documented_shape_with_valid_people(db):
    _generate()
    assert Person.objects.count() == 1000
    assert Property.objects.exclude(property_type__in=LODGING_TYPES).count() == 200
    assert Property.objects.filter(property_type__in=LODGING_TYPES).count() == 2  # one per 500 persons
    assert Unit.objects.exclude(property__property_type__in=LODGING_TYPES).count() == 600
    assert 1100 <= Residence.objects.count() <= 1300
    # One current residence per person at most, and every generated record passes the model rules.
    assert not Residence.objects.filter(status__in=["active", "unconfirmed"]).values("person").annotate(
        n=Count("id")).filter(n__gt=1).exists()
    for person in Person.objects.order_by("?")[:50]:
        person.full_clean()
    for landlord in Landlord.objects.order_by("?")[:20]:
        landlord.full_clean()
    for residence in Residence.objects.select_related("unit__property").order_by("?")[:50]:
        residence.full_clean()
        assert residence.station_id == residence.unit.property.station_id


def test_residents_live_where_product_md_says(db):
    _generate(2000)
    current = Residence.objects.filter(status__in=["active", "unconfirmed"])
    total = current.count()
    dormitory = current.filter(unit__property__property_type="dormitory").count() / total
    rental = current.filter(unit__property__property_type__in=["flat", "self_built", "group_rental"]).count() / total
    assert 0.18 < dormitory < 0.30
    assert 0.37 < rental < 0.49
    # Every dormitory resident works for the dormitory's employer.
    in_dorms = current.filter(unit__property__property_type="dormitory")
    assert Employment.objects.filter(person__residences__in=in_dorms,
                                     employer=F("person__residences__unit__property__employer")).count() == \
        in_dorms.count()
    # Arrivals peak in March; some verifications are overdue, some reports late.
    march = Residence.objects.filter(start_date__month=3).count()
    assert march > 1.8 * Residence.objects.filter(start_date__month=6).count()
    assert 0.03 < current.filter(next_verification_due__lt=F("created_at__date")).count() / total < 0.15
    assert Residence.objects.filter(reported_on__gt=F("start_date") + 3).exists()


def test_a_person_is_registered_where_they_first_lived(db):
    _generate()
    for person in Person.objects.order_by("?")[:50]:
        first = person.residences.order_by("start_date", "id").first()
        assert person.registered_station_id == first.station_id
    # The scope's mark: exactly the residences at a station other than the person's own.
    assert not Residence.objects.filter(registered_elsewhere=True,
                                        station_id=F("person__registered_station_id")).exists()
    assert not Residence.objects.filter(registered_elsewhere=False).exclude(
        station_id=F("person__registered_station_id")).exists()
    assert Residence.objects.filter(registered_elsewhere=True).exists()


def test_the_city_has_inspections_permits_reports_and_a_change_feed(db):
    _generate()
    assert Inspection.objects.filter(passed=False).exists() and Inspection.objects.filter(passed=True).exists()
    for permit in ResidencePermit.objects.order_by("?")[:10]:
        permit.full_clean()
    reports = Submission.objects.all()
    assert reports.filter(status="approved", kind="arrival").exists()
    assert reports.filter(status="approved", kind="departure", residence__isnull=False).exists()
    assert reports.filter(is_late=True).exists() and reports.filter(is_late=False).exists()
    for report in reports.order_by("?")[:20]:
        report.full_clean(exclude=["submitted_by"])  # the city has no portal accounts to send them
        assert report.station_id == report.property.station_id
    # One feed entry per record written, already numbered: the sequencer finds nothing to do.
    written = (Person.objects.count() + Residence.objects.count() + Property.objects.count() + Unit.objects.count()
               + Landlord.objects.count() + Submission.objects.count() + ResidencePermit.objects.count()
               + Employment.objects.count() + Stay.objects.count())
    assert ChangeLog.objects.exclude(object_type="persons.employer").count() == written
    assert not ChangeLog.objects.filter(seq__isnull=True).exists()
    top = ChangeLog.objects.order_by("-seq").values_list("seq", flat=True).first()
    changes_sequence()
    assert ChangeLog.objects.order_by("-seq").values_list("seq", flat=True).first() == top == ChangeLog.objects.count()
    assert ChangeLog.objects.filter(object_type="housing.residence", station_id__isnull=True).count() == 0


def test_lodgings_have_guests_some_in_now_some_late_some_registered_residents(db):
    _generate()
    stays = Stay.objects.all()
    assert stays.count() == 1000  # one per person
    assert stays.staying().exists() and stays.filter(checked_out_at__isnull=False).exists()
    assert stays.filter(is_late=True).exists() and stays.long().exists()
    assert stays.filter(document_hash__in=Person.objects.values("document_hash")).exists()
    for stay in stays.select_related("property").order_by("?")[:30]:
        stay.full_clean()
        assert stay.station_id == stay.property.station_id and stay.property.property_type in LODGING_TYPES


def test_each_station_search_entries_are_what_its_staff_may_see(db):
    """The load writes its rows with the triggers off on PostgreSQL and fills the entries in one statement."""
    from persons.models import SearchEntry
    from registry.factories import make_user
    from registry.models import Station

    _generate()
    for station in Station.objects.all():
        staff = make_user("staff", station=station)
        visible = set(Person.objects.visible_to(staff).values_list("pk", flat=True))
        assert set(SearchEntry.objects.filter(station=station).values_list("person_id", flat=True)) == visible
        assert visible
    # The triggers are on again after the load: a person registered now has an entry.
    person = Person.objects.filter(registered_station__isnull=False).first()
    person.name = "改名"
    person.save()
    assert set(SearchEntry.objects.filter(person=person).values_list("name", flat=True)) == {"改名"}
