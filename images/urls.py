from django.urls import path

from images import api, api_library

urlpatterns = [
    path("", api.ImageListView.as_view()),
    path("standard_upload", api.StandardUploadView.as_view()),
    path("upload_via_url", api.UploadViaUrlView.as_view()),
    path("token", api.UploadTokenView.as_view()),
    path("bulk_delete", api.BulkDeleteView.as_view()),
    path("downloads", api.DownloadJobCreateView.as_view()),
    path("downloads/<str:image_download_job_id>", api.DownloadJobDetailView.as_view()),
    path("folders", api_library.FolderListView.as_view()),
    path("<str:image_id>/tags", api_library.ImageTagsView.as_view()),
    path("<str:image_id>/versions", api_library.ImageVersionsView.as_view()),
    path("<str:image_id>/signed_url", api_library.ImageSignedUrlView.as_view()),
    path("<str:image_id>", api.ImageDetailView.as_view()),
]
