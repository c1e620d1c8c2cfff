"""Uploadcare's Upload API under /uploadcare/ (every path ends with a slash, as theirs do)."""

from django.urls import path, re_path

from images.compat.uploadcare import views

urlpatterns = [
    path("base/", views.base, name="uploadcare-base"),
    path("info/", views.info, name="uploadcare-info"),
    path("multipart/start/", views.multipart_start, name="uploadcare-multipart-start"),
    path(
        "multipart/part/<uuid:image_id>/<int:number>/",
        views.multipart_part,
        name="uploadcare-multipart-part",
    ),
    path("multipart/complete/", views.multipart_complete, name="uploadcare-multipart-complete"),
    path("from_url/", views.from_url, name="uploadcare-from-url"),
    path("from_url/status/", views.from_url_status, name="uploadcare-from-url-status"),
    # pyuploadcare posts to "/group//" (a doubled slash), which Uploadcare's front end takes.
    re_path(r"^group/+$", views.group, name="uploadcare-group"),
    path("group/info/", views.group_info_view, name="uploadcare-group-info"),
]
