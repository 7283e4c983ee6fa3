"""One-file Django project of the differential tests (no database)."""
import os

SECRET_KEY = "differential-tests-only"
DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "django_site.urls"
INSTALLED_APPS = []
MIDDLEWARE = [
    "django.middleware.common.CommonMiddleware",
    "django_site.views.TimingMiddleware",
    "django_site.views.function_middleware",
]
DATABASES = {}
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates",
              "DIRS": [os.path.join(os.path.dirname(__file__), "templates")]}]
LOGGING_CONFIG = None
