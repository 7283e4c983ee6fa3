"""redis-py (sync, pipelines, the asyncio client): ``redis.command`` spans,
service ``redis``, resource the command's name (``DD_REDIS_RESOURCE_ONLY_COMMAND``),
``redis.raw_command`` its arguments (``DD_REDIS_CMD_MAX_LENGTH``)."""
from ddtrace.contrib.redis.patch import get_version, patch, unpatch  # noqa: F401
