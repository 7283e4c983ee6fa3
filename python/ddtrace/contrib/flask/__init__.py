"""Flask (``ddtrace.patch(flask=True)``, on by default under ddtrace-run):
the span tree ddtrace 4.16 makes for each request: ``flask.request``
(type web, resource ``GET /users/<int:user_id>``), ``flask.application``,
``flask.preprocess_request``, ``flask.dispatch_request``, the view,
``flask.process_response``, teardown spans, ``flask.response``; hooks,
error handlers, signal receivers, ``jsonify`` and template rendering get
spans of their own."""
