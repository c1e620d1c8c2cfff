"""The webhook reads the Resource API and the dashboard share, always inside one
environment: an id of another environment finds nothing, exactly like an unknown id."""

from .models import Delivery, Subscription


def subscriptions_of(environment):
    return Subscription.objects.in_environment(environment)


def subscription_of(environment, subscription_id) -> Subscription | None:
    return Subscription.objects.in_environment(environment).filter(id=subscription_id).first()


def deliveries_of(subscription):
    return Delivery.objects.log_of(subscription)


def delivery_of(subscription, delivery_id) -> Delivery | None:
    return Delivery.objects.filter(subscription=subscription, id=delivery_id).first()
