from django.urls import path

from domains import api

urlpatterns = [
    path("", api.CorsOriginListView.as_view()),
    path("<str:cors_origin_id>", api.CorsOriginDetailView.as_view()),
]
