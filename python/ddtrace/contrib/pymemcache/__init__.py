"""pymemcache: ``memcached.command`` spans, service ``memcached``, resource
the command (``DD_TRACE_MEMCACHED_COMMAND_ENABLED`` adds the keys as
``memcached.query``)."""
from ddtrace.contrib.pymemcache.patch import WrappedClient, get_version, patch, unpatch  # noqa: F401
