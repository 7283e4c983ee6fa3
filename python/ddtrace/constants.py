"""ddtrace.constants: the names ddtrace documents for tags and sampling.

Public names are ddtrace 4.x's; the 2.x spellings it later made private
(SAMPLING_PRIORITY_KEY, ORIGIN_KEY, ...) stay available because they cost
nothing and old code imports them.
"""
# Sampling priorities
USER_REJECT = -1
AUTO_REJECT = 0
AUTO_KEEP = 1
USER_KEEP = 2

# Tags with a meaning
ENV_KEY = "env"
VERSION_KEY = "version"
SERVICE_KEY = "service.name"
SERVICE_VERSION_KEY = "service.version"
SPAN_KIND = "span.kind"
ERROR_MSG = "error.message"
ERROR_TYPE = "error.type"
ERROR_STACK = "error.stack"
PID = "process_id"
MANUAL_DROP_KEY = "manual.drop"
MANUAL_KEEP_KEY = "manual.keep"
APPSEC_ENV = "DD_APPSEC_ENABLED"
IAST_ENV = "DD_IAST_ENABLED"

# Internal keys, under ddtrace 4.x's private names ...
_SAMPLING_PRIORITY_KEY = "_sampling_priority_v1"
_SAMPLING_AGENT_DECISION = "_dd.agent_psr"
_SAMPLING_RULE_DECISION = "_dd.rule_psr"
_SAMPLING_LIMIT_DECISION = "_dd.limit_psr"
_ORIGIN_KEY = "_dd.origin"
_HOSTNAME_KEY = "_dd.hostname"
_BASE_SERVICE_KEY = "_dd.base_service"
_SPAN_MEASURED_KEY = "_dd.measured"
_KEEP_SPANS_RATE_KEY = "_dd.tracer_kr"
_USER_ID_KEY = "_dd.p.usr.id"
_SINGLE_SPAN_SAMPLING_MECHANISM = "_dd.span_sampling.mechanism"
_SINGLE_SPAN_SAMPLING_RATE = "_dd.span_sampling.rule_rate"
_SINGLE_SPAN_SAMPLING_MAX_PER_SEC = "_dd.span_sampling.max_per_second"
_SINGLE_SPAN_SAMPLING_MAX_PER_SEC_NO_LIMIT = -1

# ... and their 2.x public spellings.
SAMPLING_PRIORITY_KEY = _SAMPLING_PRIORITY_KEY
SAMPLING_AGENT_DECISION = _SAMPLING_AGENT_DECISION
SAMPLING_RULE_DECISION = _SAMPLING_RULE_DECISION
SAMPLING_LIMIT_DECISION = _SAMPLING_LIMIT_DECISION
ORIGIN_KEY = _ORIGIN_KEY
HOSTNAME_KEY = _HOSTNAME_KEY
SPAN_MEASURED_KEY = _SPAN_MEASURED_KEY
ANALYTICS_SAMPLE_RATE_KEY = "_dd1.sr.eausr"
