from django import forms
from django.db.models.functions import Lower

from images.models import ImageStatus
from images.services.library import folder_normalize, tags_parse
from imgwire_site.domain import Refusal


def form_problems(form) -> list[str]:
    """One sentence per filter that was not applied, naming the value that was sent."""
    problems = []
    for name, errors in form.errors.items():
        field = form.fields.get(name)
        label = (field and field.label) or name.replace("_", " ").capitalize()
        value = str(form.data.get(name, ""))[:100]
        problems.append(f"{label} \u201c{value}\u201d was ignored: {' '.join(errors)}")
    return problems


# The grid's and list's orders, by the value of ``?sort=``; each ends on the id so that
# images with the same key keep one order from page to page.
SORTS = {
    "newest": ("Newest first", ("-created_at", "-id")),
    "oldest": ("Oldest first", ("created_at", "id")),
    "name": ("Name, A to Z", (Lower("original_filename"), "id")),
    "name_desc": ("Name, Z to A", (Lower("original_filename").desc(), "-id")),
    "largest": ("Largest first", ("-size_bytes", "-id")),
    "smallest": ("Smallest first", ("size_bytes", "id")),
}


class ImageFilterForm(forms.Form):
    q = forms.CharField(label="File name", required=False, max_length=255)
    status = forms.ChoiceField(choices=[("", "Any status"), *ImageStatus.choices], required=False)
    purpose = forms.CharField(required=False, max_length=255)
    created_from = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    created_to = forms.DateField(
        label="To", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    sort = forms.ChoiceField(
        label="Sort by",
        choices=[(key, label) for key, (label, _) in SORTS.items()],
        required=False,
    )

    def apply(self, queryset):
        if not self.is_valid():
            return queryset.order_by(*SORTS["newest"][1])
        data = self.cleaned_data
        queryset = queryset.order_by(*SORTS[data["sort"] or "newest"][1])
        if data["q"]:
            queryset = queryset.filter(original_filename__icontains=data["q"])
        if data["status"]:
            queryset = queryset.filter(status=data["status"])
        if data["purpose"]:
            queryset = queryset.filter(purpose=data["purpose"])
        if data["created_from"]:
            queryset = queryset.filter(created_at__date__gte=data["created_from"])
        if data["created_to"]:
            queryset = queryset.filter(created_at__date__lte=data["created_to"])
        return queryset


class LibraryFilterForm(forms.Form):
    """The grid's library filters: one tag, one folder (its images, not its sub-folders')."""

    tag = forms.CharField(required=False, max_length=100)
    folder = forms.CharField(required=False, max_length=1024)

    def clean_tag(self):
        tag = self.cleaned_data["tag"]
        try:
            return tags_parse([tag], field="tag")[0] if tag else ""
        except Refusal as refusal:
            raise forms.ValidationError(refusal.message) from None

    def clean_folder(self):
        folder = self.cleaned_data["folder"]
        try:
            return folder_normalize(folder) if folder else ""
        except Refusal as refusal:
            raise forms.ValidationError(refusal.message) from None

    def apply(self, queryset):
        if not self.is_valid():
            return queryset
        if self.cleaned_data["tag"]:
            queryset = queryset.tagged(self.cleaned_data["tag"])
        if self.cleaned_data["folder"]:
            queryset = queryset.in_folder(self.cleaned_data["folder"])
        return queryset
