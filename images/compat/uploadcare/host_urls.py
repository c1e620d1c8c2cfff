"""The URLconf of the dedicated upload host (hosts.py): the Upload API at ``/``, nothing else."""

from django.urls import include, path

urlpatterns = [path("", include("images.compat.uploadcare.urls"))]
