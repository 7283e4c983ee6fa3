"""jinja2 (on by default under ddtrace-run): ``jinja2.render``,
``jinja2.compile`` and ``jinja2.load`` spans of type template, resource the
template's name (``<memory>`` for a template from a string)."""
