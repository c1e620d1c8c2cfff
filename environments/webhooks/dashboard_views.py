"""Dashboard pages for webhook subscriptions and their delivery logs. Members read them;
owners and admins change them. Every change goes through the webhooks services."""

import uuid

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from imgwire_site.dashboard import member_view
from imgwire_site.domain import Refusal

from .forms import WebhookCreateForm, WebhookEditForm
from .models import Delivery, Subscription
from .services import (
    delivery_send_again,
    subscription_create,
    subscription_delete,
    subscription_rotate_secret,
    subscription_test_event,
    subscription_update,
)

LOG_PAGE_SIZE = 20


def _subscription(request, subscription_id):
    subscription = (
        Subscription.objects.in_environment(request.environment).filter(id=subscription_id).first()
    )
    if subscription is None:  # another environment's id reads like an unknown one
        raise Http404("No such webhook subscription.")
    return subscription


def _shown_once(subscription_id) -> str:
    return f"new_webhook_secret:{subscription_id}"


def _show_secret_once(request, subscription, secret: str):
    """Post/Redirect/Get: a reload creates or rotates nothing. The secret waits in the
    session for the one page that shows it, which removes it."""
    request.session[_shown_once(subscription.pk)] = secret
    return redirect(
        "webhook-secret",
        environment_id=request.environment.id,
        subscription_id=subscription.pk,
    )


def _to_list(request):
    return redirect("webhooks", environment_id=request.environment.id)


def _to_log(request, subscription):
    return redirect(
        "webhook-log", environment_id=request.environment.id, subscription_id=subscription.pk
    )


@member_view()
def webhook_list(request):
    return render(
        request,
        "dashboard/webhooks.html",
        {"subscriptions": Subscription.objects.in_environment(request.environment)},
    )


@member_view(manage=True)
def webhook_create(request):
    form = WebhookCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            subscription, secret = subscription_create(
                environment=request.environment, **form.cleaned_data
            )
        except Refusal as refusal:
            form.refused(refusal)
        else:
            return _show_secret_once(request, subscription, secret)
    return render(request, "dashboard/webhooks_form.html", {"form": form, "subscription": None})


@member_view(manage=True)
def webhook_secret(request, subscription_id: uuid.UUID):
    subscription = _subscription(request, subscription_id)
    secret = request.session.pop(_shown_once(subscription.pk), None)
    response = render(
        request,
        "dashboard/webhooks_secret.html",
        {"subscription": subscription, "secret": secret},
    )
    response["Cache-Control"] = "no-store"
    return response


@member_view(manage=True)
def webhook_edit(request, subscription_id: uuid.UUID):
    subscription = _subscription(request, subscription_id)
    initial = {
        "url": subscription.url,
        "events": subscription.events,
        "format": subscription.format,
        "enabled": subscription.enabled,
    }
    form = WebhookEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            subscription_update(subscription=subscription, **form.cleaned_data)
        except Refusal as refusal:
            form.refused(refusal)
        else:
            messages.success(request, f"The webhook to {subscription.url} was saved.")
            return _to_list(request)
    return render(
        request, "dashboard/webhooks_form.html", {"form": form, "subscription": subscription}
    )


@member_view(manage=True)
def webhook_rotate(request, subscription_id: uuid.UUID):
    """GET asks for confirmation; POST rotates, then shows the new secret once."""
    subscription = _subscription(request, subscription_id)
    if request.method != "POST":
        return render(
            request,
            "dashboard/webhooks_confirm.html",
            {"subscription": subscription, "action": "rotate"},
        )
    secret = subscription_rotate_secret(subscription=subscription)
    return _show_secret_once(request, subscription, secret)


@member_view(manage=True)
def webhook_delete(request, subscription_id: uuid.UUID):
    """GET asks for confirmation; POST deletes (with its delivery log)."""
    subscription = _subscription(request, subscription_id)
    if request.method != "POST":
        return render(
            request,
            "dashboard/webhooks_confirm.html",
            {"subscription": subscription, "action": "delete"},
        )
    url = subscription.url
    subscription_delete(subscription=subscription)
    messages.success(request, f"The webhook to {url} was deleted.")
    return _to_list(request)


@member_view()
def webhook_log(request, subscription_id: uuid.UUID):
    subscription = _subscription(request, subscription_id)
    page = Paginator(Delivery.objects.log_of(subscription), LOG_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "dashboard/webhooks_log.html",
        {"subscription": subscription, "page": page},
    )


@member_view(manage=True)
@require_POST
def webhook_test(request, subscription_id: uuid.UUID):
    subscription = _subscription(request, subscription_id)
    event = subscription_test_event(subscription=subscription)
    messages.success(request, f"A webhook.test event ({event.id}) is on its way.")
    return _to_log(request, subscription)


@member_view(manage=True)
@require_POST
def webhook_send_again(request, subscription_id: uuid.UUID, delivery_id: uuid.UUID):
    subscription = _subscription(request, subscription_id)
    delivery = Delivery.objects.filter(subscription=subscription, id=delivery_id).first()
    if delivery is None:
        raise Http404("No such delivery.")
    try:
        delivery_send_again(delivery=delivery)
    except Refusal as refusal:
        messages.error(request, refusal.message)
    else:
        messages.success(request, f"Event {delivery.event_id} will be sent again now.")
    return _to_log(request, subscription)
