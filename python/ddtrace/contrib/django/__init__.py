"""Django (on by default under ddtrace-run): ``django.request`` (type web,
resource ``GET users/<int:user_id>``), a ``django.middleware`` span per
middleware hook, ``django.view`` (and ``django.view.<method>`` for
class-based views) and, with ``DD_DJANGO_INSTRUMENT_TEMPLATES=true``,
``django.template.render``: the spans ddtrace 4.16 makes."""
