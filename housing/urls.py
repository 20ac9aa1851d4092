from django.urls import path

from . import views, views_plaque

app_name = "housing"

urlpatterns = [
    path("picker/properties/", views.PropertyOptionsView.as_view(), name="picker_properties"),
    path("picker/units/", views.UnitOptionsView.as_view(), name="picker_units"),
    path("picker/occupancy/", views.UnitOccupancyView.as_view(), name="unit_occupancy"),
    path("properties/", views.PropertyListView.as_view(), name="property_list"),
    path("properties/new/", views.PropertyCreateView.as_view(), name="property_create"),
    path("properties/<int:pk>/", views.PropertyDetailView.as_view(), name="property_detail"),
    path("properties/<int:pk>/edit/", views.PropertyUpdateView.as_view(), name="property_edit"),
    path("properties/<int:pk>/plaque/", views_plaque.PropertyPlaqueView.as_view(), name="property_plaque"),
    path("properties/<int:pk>/plaque/rotate/", views_plaque.PropertyPlaqueRotateView.as_view(),
         name="property_plaque_rotate"),
    path("properties/<int:pk>/units/new/", views.UnitCreateView.as_view(), name="unit_create"),
    path("units/<int:pk>/edit/", views.UnitUpdateView.as_view(), name="unit_edit"),
    path("landlords/", views.LandlordListView.as_view(), name="landlord_list"),
    path("landlords/new/", views.LandlordCreateView.as_view(), name="landlord_create"),
    path("landlords/<int:pk>/", views.LandlordDetailView.as_view(), name="landlord_detail"),
    path("landlords/<int:pk>/edit/", views.LandlordUpdateView.as_view(), name="landlord_edit"),
]
