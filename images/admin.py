from itertools import groupby

from django.contrib import admin, messages

from environments.models import Environment
from images.models import Image, ImageDownloadJob
from images.services.deletion import MAX_BULK_DELETE, image_delete, images_bulk_delete
from images.services.processing import ReprocessRefused, image_reprocess
from imgwire_site.admin_support import ServiceModelAdmin, confirmation


@admin.register(Image)
class ImageAdmin(ServiceModelAdmin):
    list_display = [
        "id",
        "original_filename",
        "status",
        "status_reason",
        "mime_type",
        "size_bytes",
        "created_at",
        "deleted_at",
    ]
    list_filter = ["status", "mime_type"]
    list_select_related = ["environment"]
    raw_id_fields = ["environment", "upload_token", "created_by_key"]
    search_fields = ["id", "original_filename"]
    readonly_fields = [f.name for f in Image._meta.fields]
    # delete_selected replaces Django's own: that one deletes rows and leaves their stored
    # originals and variants behind.
    actions = ["reprocess", "delete_selected"]
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

    @admin.action(
        description="Delete selected images and their stored objects", permissions=["delete"]
    )
    def delete_selected(self, request, queryset):
        asked = confirmation(
            self,
            request,
            queryset,
            action="delete_selected",
            question="Delete these images? Their originals and variants are removed from "
            "storage and their CDN URLs answer 404.",
        )
        if asked is not None:
            return asked
        deleted = self.delete_queryset(request, queryset)
        self.message_user(request, f"Deleted {deleted} image(s).", messages.SUCCESS)
        return None

    def delete_model(self, request, obj):
        image_delete(environment=obj.environment, image_id=obj.id)

    def delete_queryset(self, request, queryset) -> int:
        """Through images_bulk_delete, per environment and in its batch size, so the objects
        are purged after the commit exactly as an API bulk delete does."""
        rows = list(queryset.order_by("environment_id").values_list("environment_id", "id"))
        environments = Environment.objects.in_bulk({environment_id for environment_id, _ in rows})
        deleted = 0
        for environment_id, group in groupby(rows, key=lambda row: row[0]):
            ids = [image_id for _, image_id in group]
            environment = environments[environment_id]
            for start in range(0, len(ids), MAX_BULK_DELETE):
                deleted += images_bulk_delete(
                    environment=environment, image_ids=ids[start : start + MAX_BULK_DELETE]
                )
        return deleted


@admin.register(ImageDownloadJob)
class ImageDownloadJobAdmin(admin.ModelAdmin):
    list_display = ["id", "environment", "status", "size_bytes", "created_at", "expires_at"]
    list_filter = ["status"]
    list_select_related = ["environment__organization"]
    raw_id_fields = ["environment"]
    readonly_fields = [f.name for f in ImageDownloadJob._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        # Deleting the row would leave its archive in storage; the reconciler removes both
        # when the job expires (IMGWIRE_DOWNLOAD_TTL_SECONDS).
        return False
