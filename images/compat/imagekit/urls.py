"""ImageKit's upload API under /imagekit/ (the SDKs' base URL; they add /api/v1/files/upload)."""

from django.urls import path

from images.compat.imagekit import views

urlpatterns = [
    path("api/v1/files/upload", views.upload_v1, name="imagekit-upload-v1"),
    path("api/v2/files/upload", views.upload_v2, name="imagekit-upload-v2"),
]
