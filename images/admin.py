from django.contrib import admin, messages

from images.models import Image, ImageDownloadJob
from images.services.processing import ReprocessRefused, image_reprocess


@admin.register(Image)
class ImageAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "original_filename",
        "status",
        "status_reason",
        "mime_type",
        "size_bytes",
        "created_at",
    ]
    list_filter = ["status", "mime_type"]
    list_select_related = ["environment"]
    raw_id_fields = ["environment", "upload_token", "created_by_key"]
    search_fields = ["id", "original_filename"]
    readonly_fields = [f.name for f in Image._meta.fields]
    actions = ["reprocess"]
    show_full_result_count = False  # COUNT(*) over a large table on every page view

    def has_add_permission(self, request):
        return False

    @admin.action(description="Re-process selected images")
    def reprocess(self, request, queryset):
        done, refused = 0, []
        for image_id in queryset.values_list("id", flat=True):
            try:
                image_reprocess(image_id)
                done += 1
            except ReprocessRefused as refusal:
                refused.append(f"{image_id}: {refusal}")
        if done:
            self.message_user(request, f"{done} image(s) queued for processing.")
        for line in refused[:10]:
            self.message_user(request, f"Not re-processed: {line}", level=messages.WARNING)


@admin.register(ImageDownloadJob)
class ImageDownloadJobAdmin(admin.ModelAdmin):
    list_display = ["id", "environment", "status", "size_bytes", "created_at", "expires_at"]
    list_filter = ["status"]
    list_select_related = ["environment__organization"]
    raw_id_fields = ["environment"]
    readonly_fields = [f.name for f in ImageDownloadJob._meta.fields]

    def has_add_permission(self, request):
        return False
