from django.urls import path

from . import views

app_name = "housing"

urlpatterns = [
    path("picker/properties/", views.PropertyOptionsView.as_view(), name="picker_properties"),
    path("picker/units/", views.UnitOptionsView.as_view(), name="picker_units"),
    path("picker/occupancy/", views.UnitOccupancyView.as_view(), name="unit_occupancy"),
]
