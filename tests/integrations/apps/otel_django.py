"""Django (its WSGI handler under gunicorn) + opentelemetry-instrumentation-django
through ddtrace's provider, in one file: settings, URLconf and view."""
from otel_common import load_user

from django.conf import settings

settings.configure(DEBUG=False, ALLOWED_HOSTS=["*"], ROOT_URLCONF=__name__, SECRET_KEY="test",
                   MIDDLEWARE=[], INSTALLED_APPS=[])

from opentelemetry.instrumentation.django import DjangoInstrumentor  # noqa: E402

DjangoInstrumentor().instrument()

from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.http import JsonResponse  # noqa: E402
from django.urls import path  # noqa: E402


def user(request, user_id):
    return JsonResponse(load_user(user_id))


urlpatterns = [path("users/<int:user_id>", user)]
app = get_wsgi_application()
