"""ddtrace.propagation: carrying a trace's context across processes."""
