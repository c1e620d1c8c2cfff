from django.urls import path

from domains import api_custom_domain

urlpatterns = [
    path("", api_custom_domain.CustomDomainView.as_view()),
    path("test_connection", api_custom_domain.CustomDomainTestConnectionView.as_view()),
]
