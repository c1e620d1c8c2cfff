from django.urls import path

from metrics import api

urlpatterns = [
    path("datasets", api.MetricsDatasetsView.as_view()),
    path("stats", api.MetricsStatsView.as_view()),
]
