from django.contrib import admin

from images.models import Image


@admin.register(Image)
class ImageAdmin(admin.ModelAdmin):
    list_display = ["id", "original_filename", "status", "mime_type", "size_bytes", "created_at"]
    list_filter = ["status", "mime_type"]
    list_select_related = ["environment"]
    raw_id_fields = ["environment", "upload_token", "created_by_key"]
    search_fields = ["id", "original_filename"]
    readonly_fields = [f.name for f in Image._meta.fields]

    def has_add_permission(self, request):
        return False
